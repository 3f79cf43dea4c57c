"""The WebSocketBridge JavaScript client in headless Chromium, against a live server.

The page (tests/live/templates/live/bridge.html) loads the bridge from the
static path 1.x templates use, ``channels/js/websocketbridge.js``; the
harness script beside it records what the bridge passes on in
``window.seen``, which these tests read through Selenium. The consumers are
in tests/live/bridge.py.
"""

import json
import time
import urllib.parse
import urllib.request
from unittest import skipUnless

from django.templatetags.static import static
from django.test import tag

from channels_test import Channel, Group
from channels_test.test import ChannelLiveServerTestCase
from tests.live.bridge import SOCKETS, DroppingProxy
from tests.support.live import (
    CHROMEDRIVER,
    CHROMIUM,
    NO_CHROMIUM,
    live_settings,
    needs_interface,
    start_browser,
)

WAIT = 15  # seconds the page gets for each thing a test waits for
# Short reconnection delays, so the tests do not wait 1.5 s per reconnection.
QUICK = {"minReconnectionDelay": 100, "maxReconnectionDelay": 400}


@needs_interface
@tag("live", "browser")
@skipUnless(CHROMIUM and CHROMEDRIVER, NO_CHROMIUM)
@live_settings
class WebSocketBridgeTests(ChannelLiveServerTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.browser, _ = start_browser(cls)

    def setUp(self):
        self.browser.get(self.live_server_url + "/bridge/")
        self.assertTrue(
            self.js("return typeof channels.WebSocketBridge === 'function'"),
            "the page did not define channels.WebSocketBridge",
        )

    # -- helpers ------------------------------------------------------------

    def js(self, script, *args):
        return self.browser.execute_script(script, *args)

    def start(self, path="/bridge/echo/", options=None):
        """Connect the page's bridge to ``path``; return the socket's URL."""
        return self.js("return startBridge(arguments[0], arguments[1])", path, options or QUICK)

    def seen(self):
        return self.js("return window.seen")

    def events(self, event_type):
        """Return the socket events of ``event_type`` the page recorded."""
        return [event for event in self.seen()["events"] if event["type"] == event_type]

    def wait_until(self, expression, what):
        """Wait until the page's JavaScript ``expression`` is truthy; return its value."""
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            value = self.js(f"return {expression}")
            if value:
                return value
            time.sleep(0.05)
        self.fail(f"Waited {WAIT} s for {what} ({expression}); the page saw {json.dumps(self.seen(), indent=1)}")

    def wait_for_opens(self, count):
        self.wait_until(f"countEvents('open') >= {count}", f"the socket to open {count} time(s)")

    def received(self, count):
        """Wait for ``count`` messages passed on by the bridge; return them."""
        self.wait_until(f"seen.received.length >= {count}", f"{count} received message(s)")
        return self.seen()["received"]

    # -- loading ------------------------------------------------------------

    def test_static_file_is_served_where_1x_templates_look_for_it(self):
        url = self.live_server_url + static("channels/js/websocketbridge.js")
        self.assertTrue(url.endswith("/static/channels/js/websocketbridge.js"), url)
        with urllib.request.urlopen(url, timeout=10) as response:
            self.assertEqual(response.status, 200)
            self.assertIn("class WebSocketBridge", response.read().decode())

    # -- connect --------------------------------------------------------------

    def test_a_path_is_resolved_against_the_page_host(self):
        self.assertEqual(self.start("/bridge/echo/"), self.live_server_ws_url + "/bridge/echo/")
        self.wait_for_opens(1)

    def test_no_url_means_the_root_of_the_page_host(self):
        self.assertEqual(self.start(None), self.live_server_ws_url + "/")
        self.wait_for_opens(1)

    def test_a_relative_url_is_resolved_against_the_page(self):
        self.assertEqual(self.start("echo/"), self.live_server_ws_url + "/bridge/echo/")  # the page is /bridge/
        self.wait_for_opens(1)

    def test_options_as_the_second_argument_are_taken_as_options(self):
        # connect(url, options), as 1.x's README wrote it: maxRetries 0 gives up at the first failure.
        self.js(
            "window.bridge = new channels.WebSocketBridge();"
            "bridge.connect('/bridge/refuse/', {maxRetries: 0});"
            "bridge.socket.addEventListener('error', event => seen.events.push({type: 'error', code: event.code}))"
        )
        self.wait_until("seen.events.some(e => e.code === 'EHOSTDOWN')", "the bridge to give up")

    def test_a_full_url_is_used_as_given(self):
        url = self.live_server_ws_url.replace("localhost", "127.0.0.1") + "/bridge/echo/"
        self.assertEqual(self.start(url), url)
        self.wait_for_opens(1)

    # -- send, listen, demultiplex, stream ------------------------------------------------

    def test_send_sends_json_and_listen_gets_replies_with_stream_null(self):
        self.start()
        self.wait_for_opens(1)
        self.js("bridge.send({n: 1, text: 'hello'})")
        [reply] = self.received(1)
        self.assertEqual(reply["via"], "listen")
        self.assertIsNone(reply["stream"])
        self.assertEqual(reply["action"]["echo"], {"n": 1, "text": "hello"})

    def test_demultiplex_passes_stream_messages_to_their_callback_only(self):
        self.start()
        self.wait_for_opens(1)  # open: the connect consumer has put the socket in the group
        group = Group(SOCKETS)
        group.send({"text": json.dumps({"stream": "nobody-listens", "payload": {"n": 0}})}, immediately=True)
        group.send({"text": json.dumps({"stream": "numbers", "payload": {"n": 1}})}, immediately=True)
        group.send({"text": json.dumps({"stream": "letters", "payload": {"c": "a"}})}, immediately=True)
        group.send({"text": json.dumps({"plain": True})}, immediately=True)
        self.assertEqual(
            self.received(3),
            [
                {"action": {"n": 1}, "stream": "numbers", "via": "demultiplex numbers"},
                {"action": {"c": "a"}, "stream": "letters", "via": "demultiplex letters"},
                {"action": {"plain": True}, "stream": None, "via": "listen"},
            ],
        )

    def test_stream_send_wraps_the_payload_with_the_stream_name(self):
        self.start()
        self.wait_for_opens(1)
        self.js("bridge.stream('numbers').send({n: 2})")
        [reply] = self.received(1)
        # The consumer echoed {"stream": "numbers", "payload": {"n": 2}} as a stream message.
        self.assertEqual(reply["via"], "demultiplex numbers")
        self.assertEqual(reply["action"]["echo"], {"n": 2})

    def test_sends_before_the_socket_opens_wait_for_it(self):
        self.js("startBridge('/bridge/echo/', {}); bridge.send({n: 1}); bridge.stream('numbers').send({n: 2})")
        replies = self.received(2)
        self.assertEqual([reply["action"]["echo"] for reply in replies], [{"n": 1}, {"n": 2}])

    def test_listen_before_connect_and_a_second_connect_keeps_queued_messages(self):
        self.js("""
            window.bridge = new channels.WebSocketBridge({minReconnectionDelay: 5000});
            bridge.listen((action, stream) => seen.received.push({action: action, stream: stream}));
            bridge.connect('/bridge/refuse/');
            window.firstSocket = bridge.socket;
            bridge.send({n: 'moved'});
            bridge.connect('/bridge/echo/');
        """)
        [reply] = self.received(1)
        self.assertEqual((reply["action"]["echo"], reply["stream"]), ({"n": "moved"}, None))
        self.assertEqual(self.js("return firstSocket.readyState"), 3)

    def test_listen_given_a_url_warns_and_still_passes_stream_messages_on(self):
        self.js("""
            window.warnings = [];
            console.warn = message => warnings.push(message);
            window.bridge = new channels.WebSocketBridge();
            bridge.connect('/bridge/echo/');
            bridge.listen('/bridge/echo/');  // 1.x's documentation had this mistake
            bridge.demultiplex('numbers', (action, stream) => seen.received.push({action: action, stream: stream}));
            bridge.socket.addEventListener('open', () => seen.events.push({type: 'open'}));
        """)
        self.assertIn("listen() takes a callback function", self.js("return warnings.join()"))
        self.wait_for_opens(1)
        Group(SOCKETS).send({"text": json.dumps({"plain": 1})}, immediately=True)
        Group(SOCKETS).send({"text": json.dumps({"stream": "numbers", "payload": 7})}, immediately=True)
        self.assertEqual(self.received(1), [{"action": 7, "stream": "numbers"}])

    # -- reconnection -------------------------------------------------------

    def test_reconnects_after_the_consumer_closes_the_socket(self):
        self.start()
        self.wait_for_opens(1)
        self.js("bridge.send({n: 1})")
        first_socket = self.received(1)[0]["action"]["socket"]
        self.js("bridge.send({command: 'close'})")
        self.wait_for_opens(2)
        [close] = self.events("close")
        self.assertTrue(close["willReconnect"], close)
        self.assertGreaterEqual(close["reconnectDelay"], QUICK["minReconnectionDelay"])
        self.assertEqual(close["readyState"], 0, "a socket waiting to reconnect is CONNECTING")
        self.js("bridge.send({n: 2})")
        second = self.received(2)[1]["action"]
        self.assertEqual(second["echo"], {"n": 2})
        self.assertNotEqual(second["socket"], first_socket, "the reply came over the old connection")

    def test_sends_while_reconnecting_are_queued_and_delivered_in_order(self):
        self.start()
        self.wait_for_opens(1)
        # When the server closes the socket, the page sends two messages at once, while
        # it is down; once it is open again, an open listener sends one of its own.
        self.js("""
            bridge.socket.addEventListener('close', function () {
                bridge.send({n: 'queued 1'});
                bridge.stream('numbers').send({n: 'queued 2'});
                seen.queued = bridge.socket.queuedCount;
            }, {once: true});
            bridge.socket.addEventListener('open', function () {
                if (countEvents('open') === 2) bridge.send({n: 'from the open listener'});
            });
        """)
        # The test closes it from the layer, as a consumer would: {"close": True} to its reply channel.
        [reply_channel] = Group(SOCKETS).channel_names()
        Channel(reply_channel).send({"close": True}, immediately=True)
        replies = self.received(3)
        self.assertEqual(self.seen()["queued"], 2)
        self.assertEqual(
            [(reply["via"], reply["action"]["echo"]) for reply in replies],
            [
                ("listen", {"n": "from the open listener"}),
                ("listen", {"n": "queued 1"}),
                ("demultiplex numbers", {"n": "queued 2"}),
            ],
        )
        self.assertTrue(all(reply["action"]["socket"] != reply_channel for reply in replies), replies)
        self.assertEqual(self.js("return bridge.socket.queuedCount"), 0)

    def test_reconnects_after_the_network_drops_the_connection(self):
        proxy = DroppingProxy(urllib.parse.urlsplit(self.live_server_url).port)
        self.addCleanup(proxy.stop)
        self.start(f"ws://127.0.0.1:{proxy.port}/bridge/echo/")
        self.wait_for_opens(1)
        self.js("bridge.send({n: 1})")
        first_socket = self.received(1)[0]["action"]["socket"]
        self.js("bridge.socket.addEventListener('close', () => bridge.send({n: 'while down'}), {once: true})")
        self.assertGreater(proxy.drop(), 0, "the page's socket did not go through the proxy")
        reply = self.received(2)[1]["action"]
        [close] = self.events("close")
        self.assertEqual((close["code"], close["willReconnect"]), (1006, True), close)
        self.assertEqual(reply["echo"], {"n": "while down"})
        self.assertNotEqual(reply["socket"], first_socket, "the reply came over the old connection")

    def test_a_full_queue_refuses_the_next_message(self):
        self.js("startBridge('/bridge/refuse/', {maxQueuedMessages: 2, minReconnectionDelay: 100})")
        self.assertIsNone(self.js("return trySend({n: 1})"))
        self.assertIsNone(self.js("return trySend({n: 2})"))
        error = self.js("return trySend({n: 3})")
        self.assertEqual(error["code"], "EQUEUEFULL", error)
        self.assertIn("raise maxQueuedMessages", error["message"])
        self.assertEqual(self.js("return bridge.socket.queuedCount"), 2)

    def test_backoff_grows_to_its_cap_and_gives_up_after_max_retries(self):
        options = {
            "minReconnectionDelay": 50,
            "reconnectionDelayGrowFactor": 2,
            "maxReconnectionDelay": 150,
            "maxRetries": 3,
        }
        self.js("startBridge('/bridge/refuse/', arguments[0]); bridge.send({n: 'never sent'})", options)
        self.wait_until("seen.events.some(e => e.code === 'EHOSTDOWN')", "the bridge to give up")
        events = self.seen()["events"]
        closes = [event for event in events if event["type"] == "close"]
        self.assertEqual([close["willReconnect"] for close in closes], [True, True, True, False])
        delays = [close["reconnectDelay"] for close in closes[:3]]
        self.assertTrue(50 <= delays[0] < 100, delays)  # the first: between min and twice min
        self.assertAlmostEqual(delays[1], min(delays[0] * 2, 150))
        self.assertEqual(delays[2], 150)  # capped
        self.assertNotIn("open", [event["type"] for event in events])
        [gave_up] = [event for event in events if event["code"] == "EHOSTDOWN"]
        self.assertEqual(gave_up["unsent"], [json.dumps({"n": "never sent"}, separators=(",", ":"))])
        self.assertEqual(self.js("return bridge.socket.readyState"), 3)
        self.assertEqual(self.js("return trySend({n: 'after'})")["code"], "ECLOSED")

    def test_max_retries_0_turns_reconnection_off(self):
        self.start(options={"maxRetries": 0})
        self.wait_for_opens(1)
        self.js("bridge.send({command: 'close'})")
        self.wait_until("countEvents('close') === 1", "the socket to close")
        [close] = self.events("close")
        self.assertFalse(close["willReconnect"], close)
        self.assertEqual(close["readyState"], 3)

    def test_close_with_keep_closed_stays_closed(self):
        self.start()
        self.wait_for_opens(1)
        self.js("bridge.socket.close(1000, 'done', {keepClosed: true})")
        [close] = self.events("close")
        self.assertEqual((close["code"], close["willReconnect"], close["readyState"]), (1000, False, 3))
        self.assertEqual(self.js("return trySend({n: 1})")["code"], "ECLOSED")

    def test_close_without_fast_close_refuses_sends_before_the_close_event(self):
        self.start()
        self.wait_for_opens(1)
        error = self.js(
            "bridge.socket.close(1000, 'done', {keepClosed: true, fastClose: false}); return trySend({n: 1})"
        )
        self.assertEqual(error["code"], "ECLOSED", error)
        self.wait_until("countEvents('close') === 1", "the closing handshake to finish")
        self.assertEqual(self.js("return bridge.socket.readyState"), 3)

    # -- module formats -----------------------------------------------------

    def test_it_is_also_a_commonjs_and_an_amd_module(self):
        exported = self.browser.execute_async_script(
            """
            const done = arguments[arguments.length - 1];
            const globalBefore = window.channels;
            fetch(arguments[0]).then(response => response.text()).then(text => {
                const module = {exports: {}};
                new Function("module", text)(module);
                let amd = {};
                const define = (dependencies, factory) => { amd = factory(); };
                define.amd = {};
                new Function("define", text)(define);
                done({commonjs: Object.keys(module.exports).sort(), amd: Object.keys(amd).sort(),
                      globalUntouched: window.channels === globalBefore});
            }, error => done(String(error)));
        """,
            static("channels/js/websocketbridge.js"),
        )
        names = ["ReconnectingWebSocket", "WebSocketBridge"]
        self.assertEqual(exported, {"commonjs": names, "amd": names, "globalUntouched": True})
