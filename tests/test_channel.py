import os
import shutil
import tempfile
import threading
import time
import warnings

from django.core.exceptions import ImproperlyConfigured
from django.test import SimpleTestCase, override_settings

from channels_test import DEFAULT_CHANNEL_LAYER, Channel, Group
from channels_test._stop import StopRequest
from channels_test.asgi import ChannelLayerWrapper, channel_layers, get_channel_layer
from channels_test.deprecation import ChannelsTestDeprecationWarning
from channels_test.exceptions import (
    ConsumeLater,
    DenyConnection,
    WebsocketCloseException,
)
from channels_test.layers.base import MessageTooLarge
from channels_test.layers.inmemory import InMemoryChannelLayer
from channels_test.layers.sqlite import SQLiteChannelLayer
from channels_test.message import Message
from channels_test.routing import route
from channels_test.signals import consumer_finished, consumer_started, worker_ready
from channels_test.worker import Worker, WorkerGroup, run_consumer


class LayerSwapMixin:
    """Give each test fresh in-memory layers for 'default' and 'other'."""

    routing = []

    def setUp(self):
        super().setUp()
        self.layers = {}
        for alias in (DEFAULT_CHANNEL_LAYER, "other"):
            wrapper = ChannelLayerWrapper(InMemoryChannelLayer(), alias, list(self.routing))
            old = channel_layers.set(alias, wrapper)
            self.addCleanup(channel_layers.set, alias, old)
            self.layers[alias] = wrapper
        self.layer = self.layers[DEFAULT_CHANNEL_LAYER]


class ChannelTests(LayerSwapMixin, SimpleTestCase):
    def test_send_outside_a_consumer_goes_at_once(self):
        Channel("input").send({"value": 33})
        self.assertEqual(self.layer.receive(["input"]), ("input", {"value": 33}))

    def test_alias_picks_the_layer(self):
        Channel("input", alias="other").send({"value": 1})
        self.assertEqual(self.layer.receive(["input"]), (None, None))
        self.assertEqual(self.layers["other"].receive(["input"]), ("input", {"value": 1}))

    def test_explicit_layer(self):
        layer = InMemoryChannelLayer()
        Channel("x", channel_layer=layer).send({"a": 1})
        self.assertEqual(layer.receive(["x"]), ("x", {"a": 1}))

    def test_content_must_be_a_dict(self):
        with self.assertRaisesMessage(TypeError, "Channel.send() takes a dict, not str"):
            Channel("x").send("hello")
        with self.assertRaisesMessage(TypeError, "Group.send() takes a dict, not list"):
            Group("g").send([1])

    def test_bad_name_is_quoted(self):
        with self.assertRaisesMessage(ValueError, "Invalid channel name 'no spaces'"):
            Channel("no spaces").send({})

    def test_group_add_send_discard(self):
        Group("room").add("a")
        Group("room").add(Channel("b"))
        self.assertCountEqual(Group("room").channel_names(), ["a", "b"])
        Group("room").send({"value": 42})
        self.assertEqual(self.layer.receive(["a"]), ("a", {"value": 42}))
        self.assertEqual(self.layer.receive(["b"]), ("b", {"value": 42}))
        Group("room").discard("a")
        Group("room").send({"value": 43})
        self.assertEqual(self.layer.receive(["a"]), (None, None))
        self.assertEqual(self.layer.receive(["b"]), ("b", {"value": 43}))

    def test_equality(self):
        self.assertEqual(Channel("a"), Channel("a"))
        self.assertNotEqual(Channel("a"), Channel("b"))
        self.assertEqual(str(Channel("a")), "a")


class MessageTests(LayerSwapMixin, SimpleTestCase):
    def test_dict_like(self):
        message = Message({"text": "hi", "reply_channel": "r.1"}, "websocket.receive", self.layer)
        self.assertEqual(message["text"], "hi")
        self.assertIn("text", message)
        self.assertEqual(message.get("missing", 5), 5)
        self.assertEqual(set(message.keys()), {"text", "reply_channel"})
        self.assertEqual(message.channel.name, "websocket.receive")
        self.assertEqual(message.reply_channel.name, "r.1")
        self.assertIs(message.channel_layer, self.layer)

    def test_no_reply_channel(self):
        self.assertIsNone(Message({}, "x", self.layer).reply_channel)

    def test_copy_is_deep(self):
        message = Message({"nested": {"a": [1]}}, "x", self.layer)
        copy = message.copy()
        copy["nested"]["a"].append(2)
        self.assertEqual(message["nested"], {"a": [1]})
        self.assertEqual(copy.channel.name, "x")


class HeldSendTests(LayerSwapMixin, SimpleTestCase):
    def test_sends_wait_until_the_consumer_returns(self):
        seen_during = []

        def consumer(message):
            Channel("out").send({"n": 1})
            Group("g").send({"n": 2})
            seen_during.append(self.layer.receive(["out"]))

        Group("g").add("member")
        run_consumer(consumer, Message({}, "in", self.layer), {}, sender=None)
        self.assertEqual(seen_during, [(None, None)])
        self.assertEqual(self.layer.receive(["out"]), ("out", {"n": 1}))
        self.assertEqual(self.layer.receive(["member"]), ("member", {"n": 2}))

    def test_sends_of_a_failed_consumer_are_dropped(self):
        def consumer(message):
            Channel("out").send({"n": 1})
            raise RuntimeError("boom")

        with self.assertRaisesMessage(RuntimeError, "boom"):
            run_consumer(consumer, Message({}, "in", self.layer), {}, sender=None)
        self.assertEqual(self.layer.receive(["out"]), (None, None))
        # The store is clean for the next consumer.
        Channel("out").send({"n": 2})
        self.assertEqual(self.layer.receive(["out"]), ("out", {"n": 2}))

    def test_immediately_bypasses_the_hold(self):
        def consumer(message):
            Channel("out").send({"n": 1}, immediately=True)
            self.assertEqual(self.layer.receive(["out"]), ("out", {"n": 1}))

        run_consumer(consumer, Message({}, "in", self.layer), {}, sender=None)

    def test_held_message_is_a_copy(self):
        def consumer(message):
            content = {"n": 1}
            Channel("out").send(content)
            content["n"] = 2

        run_consumer(consumer, Message({}, "in", self.layer), {}, sender=None)
        self.assertEqual(self.layer.receive(["out"]), ("out", {"n": 1}))

    def test_a_held_send_is_checked_and_copied_once(self):
        made = []

        class Counting(InMemoryChannelLayer):
            def encode_for_later(self, message):
                made.append(dict(message))
                return super().encode_for_later(message)

        self.layer.channel_layer = Counting()

        def consumer(message):
            Channel("out").send({"n": 1})
            Group("g").send({"n": 2})

        Group("g").add("member")
        run_consumer(consumer, Message({}, "in", self.layer), {}, sender=None)
        self.assertEqual(made, [{"n": 1}, {"n": 2}], "once per held send, not again when it goes out")
        self.assertEqual(self.layer.receive(["out"]), ("out", {"n": 1}))
        self.assertEqual(self.layer.receive(["member"]), ("member", {"n": 2}))

    def test_bad_content_fails_at_the_send_call(self):
        def consumer(message):
            Channel("out").send({"when": object()})

        with self.assertRaisesMessage(TypeError, "message['when']: object is not allowed"):
            run_consumer(consumer, Message({}, "in", self.layer), {}, sender=None)

    def test_too_large_content_fails_at_the_send_call(self):
        self.layer.channel_layer.max_message_size = 100
        sent = []

        def consumer(message):
            Channel("out").send({"n": 1})
            try:
                Channel("out").send({"text": "x" * 200})
            except MessageTooLarge:
                sent.append("refused at the call")
                raise

        with self.assertRaises(MessageTooLarge):
            run_consumer(consumer, Message({}, "in", self.layer), {}, sender=None)
        self.assertEqual(sent, ["refused at the call"])
        self.assertEqual(self.layer.receive(["out"]), (None, None), "a failed consumer sends nothing")

    def test_a_layer_of_another_package_gets_its_held_sends(self):
        class ForeignLayer:
            """A layer with only the ASGI 1 methods (no encode_for_later)."""

            def __init__(self):
                self.sent = []

            def send(self, channel, message):
                self.sent.append(("send", channel, message))

            def send_group(self, group, message):
                self.sent.append(("send_group", group, message))

        foreign = ForeignLayer()
        wrapper = ChannelLayerWrapper(foreign, "foreign", [])

        def consumer(message):
            content = {"n": 1}
            Channel("out", channel_layer=wrapper).send(content)
            Group("g", channel_layer=wrapper).send(content)
            content["n"] = 2

        run_consumer(consumer, Message({}, "in", self.layer), {}, sender=None)
        self.assertEqual(foreign.sent, [("send", "out", {"n": 1}), ("send_group", "g", {"n": 1})])

    def test_signals_bracket_the_consumer(self):
        events = []

        def started(sender, environ, **kwargs):
            events.append("started")

        def finished(sender, **kwargs):
            events.append("finished")

        consumer_started.connect(started)
        consumer_finished.connect(finished)
        self.addCleanup(consumer_started.disconnect, started)
        self.addCleanup(consumer_finished.disconnect, finished)
        run_consumer(lambda message: events.append("ran"), Message({}, "in", self.layer), {}, sender=None)
        self.assertEqual(events, ["started", "ran", "finished"])

    def test_deny_connection_rejects(self):
        def consumer(message):
            raise DenyConnection()

        run_consumer(consumer, Message({"reply_channel": "r.1"}, "websocket.connect", self.layer), {}, sender=None)
        self.assertEqual(self.layer.receive(["r.1"]), ("r.1", {"accept": False}))

    def test_deny_connection_outside_connect_is_an_error(self):
        def consumer(message):
            raise DenyConnection()

        with self.assertRaisesMessage(ValueError, "only be raised while handling 'websocket.connect'"):
            run_consumer(consumer, Message({"reply_channel": "r.1"}, "websocket.receive", self.layer), {}, sender=None)

    def test_close_exception_sends_held_messages_first(self):
        def consumer(message):
            message.reply_channel.send({"text": "bye"})
            raise WebsocketCloseException(4000)

        run_consumer(consumer, Message({"reply_channel": "r.1"}, "websocket.receive", self.layer), {}, sender=None)
        self.assertEqual(self.layer.receive(["r.1"]), ("r.1", {"text": "bye"}))
        self.assertEqual(self.layer.receive(["r.1"]), ("r.1", {"close": 4000}))

    def test_close_code_is_checked(self):
        with self.assertRaisesMessage(ValueError, "Invalid close code 2000"):
            WebsocketCloseException(2000)


class RegistryTests(SimpleTestCase):
    def test_unknown_alias_lists_the_known(self):
        with self.assertRaisesMessage(
            ImproperlyConfigured, "No channel layer 'nope' in CHANNEL_LAYERS (configured: 'default', 'other')"
        ):
            channel_layers["nope"]

    @override_settings(CHANNEL_LAYERS={"default": {"ROUTING": []}})
    def test_missing_backend(self):
        with self.assertRaisesMessage(ImproperlyConfigured, "CHANNEL_LAYERS['default'] has no 'BACKEND'"):
            channel_layers["default"]

    @override_settings(CHANNEL_LAYERS={"default": {"BACKEND": "channels_test.layers.inmemory.InMemoryChannelLayer"}})
    def test_missing_routing_is_reported_when_routing_is_needed(self):
        wrapper = channel_layers["default"]
        wrapper.send("x", {})  # a send-only use needs no routing
        with self.assertRaisesMessage(ImproperlyConfigured, "CHANNEL_LAYERS['default'] has no 'ROUTING'"):
            wrapper.router

    @override_settings(CHANNEL_LAYERS={"default": {"BACKEND": "nowhere.Layer", "ROUTING": []}})
    def test_unimportable_backend(self):
        with self.assertRaisesMessage(
            ImproperlyConfigured, "Cannot import BACKEND 'nowhere.Layer' of channel layer 'default'"
        ):
            channel_layers["default"]

    @override_settings(
        CHANNEL_LAYERS={
            "default": {
                "BACKEND": "channels_test.layers.inmemory.InMemoryChannelLayer",
                "ROUTING": [],
                "CONFIG": {"colour": 1},
            }
        }
    )
    def test_config_that_does_not_fit(self):
        with self.assertRaisesMessage(
            ImproperlyConfigured, "CHANNEL_LAYERS['default']['CONFIG'] does not fit InMemoryChannelLayer"
        ):
            channel_layers["default"]

    @override_settings(
        CHANNEL_LAYERS={
            "default": {"BACKEND": "asgiref.inmemory.ChannelLayer", "ROUTING": [], "CONFIG": {"capacity": 7}}
        }
    )
    def test_1x_backend_name_resolves_with_a_warning(self):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            layer = get_channel_layer()
        self.assertIsInstance(layer, InMemoryChannelLayer)
        self.assertEqual(layer.capacity, 7)
        self.assertIn("asgiref.inmemory.ChannelLayer", str(caught[0].message))
        self.assertIs(caught[0].category, ChannelsTestDeprecationWarning)

    def test_1x_ipc_backend_is_the_sqlite_layer(self):
        directory = tempfile.mkdtemp(prefix="channels_test_ipc_")
        self.addCleanup(shutil.rmtree, directory, ignore_errors=True)
        config = {
            "BACKEND": "asgi_ipc.IPCChannelLayer",
            "ROUTING": [],
            "CONFIG": {
                "path": os.path.join(directory, "layer.sqlite3"),
                "prefix": "mysite",
                "capacity": 4,
                "group_memory": 2**20,
            },
        }
        with override_settings(CHANNEL_LAYERS={"default": config}):
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                layer = get_channel_layer()
        self.addCleanup(layer.close)
        self.assertIsInstance(layer, SQLiteChannelLayer)
        self.assertEqual((layer.prefix, layer.capacity), ("mysite", 4))
        messages = [str(warning.message) for warning in caught]
        self.assertTrue(all(w.category is ChannelsTestDeprecationWarning for w in caught), messages)
        self.assertIn("BACKEND 'asgi_ipc.IPCChannelLayer' is deprecated", messages[0])
        self.assertIn("'group_memory' of asgi_ipc.IPCChannelLayer has no meaning", messages[1])

    @override_settings(
        CHANNEL_LAYERS={
            "default": {
                "BACKEND": "channels_test.layers.inmemory.InMemoryChannelLayer",
                "ROUTING": [],
                "CONFIG": {"capacity": 3},
                "TEST_CONFIG": {"capacity": 5},
            }
        }
    )
    def test_test_config(self):
        self.assertEqual(channel_layers.make_test_backend("default").capacity, 5)
        self.assertEqual(channel_layers.make_backend("default").capacity, 3)

    @override_settings(
        CHANNEL_LAYERS={"default": {"BACKEND": "channels_test.layers.inmemory.InMemoryChannelLayer", "ROUTING": []}}
    )
    def test_missing_test_config(self):
        with self.assertRaisesMessage(ImproperlyConfigured, "has no 'TEST_CONFIG'"):
            channel_layers.make_test_backend("default")

    def test_set_returns_the_previous_layer(self):
        wrapper = ChannelLayerWrapper(InMemoryChannelLayer(), "default", [])
        old = channel_layers.set("default", wrapper)
        try:
            self.assertIs(channel_layers["default"], wrapper)
        finally:
            self.assertIs(channel_layers.set("default", old), wrapper)

    def test_wrapper_follows_a_layer_put_in_its_place(self):
        first, second = InMemoryChannelLayer(), InMemoryChannelLayer()
        wrapper = ChannelLayerWrapper(first, "default", [])
        wrapper.channel_layer = second
        wrapper.send("here", {"n": 1})
        self.assertEqual(second.receive(["here"]), ("here", {"n": 1}))
        self.assertEqual(first.receive(["here"]), (None, None))
        self.assertEqual(wrapper.receive(["here"]), (None, None))

    def test_wrapper_of_a_layer_without_a_call_says_so(self):
        class SendOnly:
            def send(self, channel, message):
                pass

        wrapper = ChannelLayerWrapper(InMemoryChannelLayer(), "default", [])
        wrapper.channel_layer = SendOnly()
        with self.assertRaisesMessage(AttributeError, "send_encoded"):
            wrapper.send_encoded("here", b"")

    def test_1x_top_level_names(self):
        import channels_test
        from channels_test import routing

        self.assertIs(channels_test.channel_layers, channel_layers)
        self.assertIs(channels_test.route, routing.route)
        self.assertIs(channels_test.route_class, routing.route_class)
        self.assertIs(channels_test.include, routing.include)

    def test_1x_app_config_name(self):
        from django.apps import AppConfig

        from channels_test.apps import ChannelsConfig, ChannelsTestConfig

        self.assertIs(type(AppConfig.create("channels_test")), ChannelsTestConfig)
        config = AppConfig.create("channels_test.apps.ChannelsConfig")
        self.assertIsInstance(config, ChannelsConfig)
        self.assertEqual(config.label, "channels_test")

    def test_built_once(self):
        self.assertIs(channel_layers["other"], channel_layers["other"])


RETRIES = []


def flaky_consumer(message):
    RETRIES.append(message.get("__retries__", 0))
    if len(RETRIES) < 3:
        raise ConsumeLater()


def failing_consumer(message):
    raise RuntimeError("consumer failed on purpose")


def recording_consumer(message, **kwargs):
    Channel("done").send({"got": message["n"], **kwargs})


class WorkerTests(LayerSwapMixin, SimpleTestCase):
    routing = [
        route("flaky", flaky_consumer),
        route("broken", failing_consumer),
        route("work", recording_consumer, path=r"^/(?P<slug>\w+)$"),
        route("other.work", recording_consumer),
    ]

    def drain(self, worker, channels):
        while True:
            channel, content = self.layer.receive(channels)
            if channel is None:
                return
            worker.handle(channel, content)

    def test_dispatch_with_kwargs(self):
        worker = Worker(self.layer, signal_handlers=False)
        Channel("work").send({"n": 1, "path": "/abc"})
        self.drain(worker, ["work"])
        self.assertEqual(self.layer.receive(["done"]), ("done", {"got": 1, "slug": "abc"}))

    def test_callback_runs_before_each_routed_consumer(self):
        seen = []
        worker = Worker(
            self.layer,
            signal_handlers=False,
            callback=lambda channel, message: seen.append((channel, message["n"], self.layer.receive(["done"]))),
        )
        Channel("other.work").send({"n": 1})
        Channel("unrouted").send({"n": 2})
        with self.assertLogs("django.channels", "ERROR"):
            self.drain(worker, ["other.work", "unrouted"])
        self.assertEqual(seen, [("other.work", 1, (None, None))])
        self.assertEqual(self.layer.receive(["done"]), ("done", {"got": 1}))

    def test_consume_later_requeues_with_a_bound(self):
        RETRIES.clear()
        worker = Worker(self.layer, signal_handlers=False)
        Channel("flaky").send({"n": 1})
        self.drain(worker, ["flaky"])
        self.assertEqual(RETRIES, [0, 1, 2])

    def test_consume_later_gives_up(self):
        RETRIES.clear()
        worker = Worker(self.layer, signal_handlers=False, message_retries=1)
        Channel("flaky").send({"n": 1})
        with self.assertLogs("django.channels", "ERROR") as logs:
            self.drain(worker, ["flaky"])
        self.assertEqual(RETRIES, [0, 1])
        self.assertIn("after 1 ConsumeLater retries", logs.output[0])

    @override_settings(CHANNELS_CONSUME_LATER_RETRIES=0)
    def test_consume_later_retries_setting(self):
        RETRIES.clear()
        worker = Worker(self.layer, signal_handlers=False)
        Channel("flaky").send({"n": 1})
        with self.assertLogs("django.channels", "ERROR") as logs:
            self.drain(worker, ["flaky"])
        self.assertEqual(RETRIES, [0])
        self.assertIn("after 0 ConsumeLater retries", logs.output[0])

    def test_failing_consumer_is_logged_and_worker_goes_on(self):
        worker = Worker(self.layer, signal_handlers=False)
        Channel("broken").send({"n": 1})
        Channel("other.work").send({"n": 2})
        with self.assertLogs("django.channels", "ERROR") as logs:
            self.drain(worker, ["broken", "other.work"])
        self.assertIn("tests.test_channel.failing_consumer", logs.output[0])
        self.assertIn("consumer failed on purpose", logs.output[0])  # the traceback
        self.assertEqual(self.layer.receive(["done"]), ("done", {"got": 2}))

    def test_unrouted_message_logged_once(self):
        worker = Worker(self.layer, signal_handlers=False)
        Channel("work").send({"n": 1, "path": "/no/match"})
        Channel("work").send({"n": 2, "path": "/no/match"})
        with self.assertLogs("django.channels", "ERROR") as logs:
            self.drain(worker, ["work"])
        self.assertEqual(len(logs.output), 1)
        self.assertIn("No route matches a message on 'work'", logs.output[0])

    def test_channel_filters(self):
        worker = Worker(self.layer, signal_handlers=False, only_channels=["*work"], exclude_channels=["other.*"])
        self.assertEqual(worker.apply_channel_filters(self.layer.router.channels), ["work"])

    def test_run_until_stopped_from_another_thread(self):
        worker = WorkerGroup(self.layer, signal_handlers=False, n_threads=3)
        ready = []
        worker_ready.connect(lambda sender, **kw: ready.append(sender), weak=False, dispatch_uid="t-ready")
        self.addCleanup(worker_ready.disconnect, dispatch_uid="t-ready")
        thread = threading.Thread(target=worker.run)
        thread.start()
        self.addCleanup(thread.join, 10)
        self.addCleanup(worker.stop)
        for n in range(20):
            Channel("other.work").send({"n": n})
        received = []
        deadline = time.monotonic() + 10
        while len(received) < 20 and time.monotonic() < deadline:
            channel, content = self.layer.receive(["done"], block=True)
            if channel:
                received.append(content["got"])
        self.assertCountEqual(received, range(20))
        worker.stop()
        thread.join(10)
        self.assertFalse(thread.is_alive(), "the worker group did not stop within 10 s")
        self.assertEqual(len(ready), 3)

    def test_empty_channel_set_is_refused(self):
        worker = Worker(self.layer, signal_handlers=False, only_channels=["nothing.*"])
        with self.assertRaisesMessage(ValueError, "no channels to listen on"):
            worker.run()


class StopRequestTests(SimpleTestCase):
    """The stop flag the workers and the delay server wait on (signal handlers set it)."""

    def test_set_ends_a_wait_and_clear_shuts_the_gate_again(self):
        request = StopRequest()
        self.assertFalse(request.wait(0))
        threading.Timer(0.05, request.set).start()
        self.assertTrue(request.wait(30))
        request.set()  # twice is fine
        self.assertTrue(request.wait(0))
        request.clear()
        self.assertFalse(request.wait(0))

    def test_a_clear_during_a_wait_leaves_the_gate_shut(self):
        request = StopRequest()
        gate = request._gate

        class ClearedMidWait:
            """The gate, with a clear() from another thread landing as wait() gets it."""

            def acquire(self, blocking=True, timeout=-1):
                got = gate.acquire(blocking, timeout)
                request._gate = gate
                request.clear()
                return got

        request.set()
        request._set = False  # set, seen as not set by wait(): the race's first half
        request._gate = ClearedMidWait()
        self.assertFalse(request.wait(0))
        self.assertTrue(gate.locked(), "the gate stays shut after a clear(): the next wait waits")
