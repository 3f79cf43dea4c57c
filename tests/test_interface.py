"""The interface application served by real Daphne processes, with real worker processes.

Daphne and ``manage.py runworker`` run as separate processes sharing a SQLite
channel layer in a temp directory; the tests talk to Daphne over loopback
with real HTTP and WebSocket clients. The project they serve is
:mod:`tests.interface_project`.
"""

import asyncio
import hashlib
import http.client
import json
import os
import re
import signal
import sqlite3
import threading
import time
from collections.abc import Callable
from importlib.util import find_spec
from unittest import mock, skipIf

import websocket
from asgiref.testing import ApplicationCommunicator
from django.test import SimpleTestCase, override_settings, tag

from channels_test.handler import ViewConsumer
from channels_test.interface import (
    InterfaceApplication,
    LoopReplies,
    check_http_reply,
    check_websocket_reply,
)
from channels_test.layers.inmemory import InMemoryChannelLayer
from channels_test.layers.sqlite import SQLiteChannelLayer
from channels_test.layers.sqlite.layer import TRY_RECEIVE_LIMIT
from channels_test.message import Message
from channels_test.routing import Router, route
from channels_test.staticfiles import StaticFilesConsumer, add_default_routes
from tests.support.interface import (
    CLIENT_TIMEOUT,
    InProcessTestCase,
    close_code,
    get,
    get_with_headers,
    make_layer_directory,
)
from tests.support.processes import (
    SLOW_VIEW_STARTED,
    Child,
    project_env,
    start_daphne,
    start_uvicorn,
    start_worker,
)


class ServedTestCase(SimpleTestCase):
    """One Daphne process and one worker process (4 threads) per class."""

    settings_env: dict = {}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.layer_path = make_layer_directory(cls)
        cls.env = project_env(cls.layer_path, **cls.settings_env)
        cls.daphne, cls.port = start_daphne(cls.env, cls.addClassCleanup)
        cls.worker = start_worker(cls.env, cls.addClassCleanup, "--threads", "4")
        cls.layer = SQLiteChannelLayer(path=cls.layer_path)
        cls.addClassCleanup(cls.layer.close)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def ws(self, path: str, **options) -> websocket.WebSocket:
        socket = websocket.create_connection(f"ws://127.0.0.1:{self.port}{path}", timeout=CLIENT_TIMEOUT, **options)
        self.addCleanup(socket.close)
        return socket

    def request(self, method: str, path: str, body: bytes | None = None) -> http.client.HTTPResponse:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=CLIENT_TIMEOUT)
        self.addCleanup(connection.close)
        connection.request(method, path, body=body)
        return connection.getresponse()

    def assertLogged(self, text: str, timeout: float = 10.0) -> None:
        self.daphne.wait_for(re.escape(text), timeout=timeout)


@tag("live")
class HttpTests(ServedTestCase):
    def test_django_view_through_the_layer(self):
        response = self.request("GET", "/hello/?name=layer")
        self.assertEqual((response.status, response.read()[:17]), (200, b"Hello layer from "))
        self.assertEqual(response.getheader("x-middleware"), "ran")

    def test_django_errors_become_django_error_responses(self):
        response = self.request("GET", "/no-such-page/")
        self.assertEqual((response.status, response.getheader("x-middleware")), (404, "ran"))
        response = self.request("GET", "/broken/")
        self.assertEqual(response.status, 500)

    def test_view_runs_in_the_worker_process(self):
        body = self.request("GET", "/hello/").read().decode()
        self.assertEqual(body.rsplit(" ", 1)[1], str(self.worker.pid))

    def test_plain_consumer_gets_the_1x_message(self):
        response = self.request("GET", "/raw/?a=1&b=%20")
        self.assertEqual(response.status, 201)
        self.assertEqual(response.read(), b"raw:a=1&b=%20")
        self.assertRegex(response.getheader("x-reply-channel"), r"^http\.response\.[A-Za-z0-9]+![A-Za-z0-9]+$")

    def test_post_of_5_mb_arrives_whole(self):
        body = os.urandom(5 * 1024 * 1024)
        response = self.request("POST", "/upload/", body)
        self.assertEqual(response.status, 200)
        self.assertEqual(
            json.loads(response.read()),
            {"size": len(body), "sha256": hashlib.sha256(body).hexdigest()},
        )

    def test_streaming_response_arrives_in_chunks(self):
        response = self.request("GET", "/stream/")
        self.assertEqual(response.status, 200)
        first = response.read1()
        self.assertEqual(first, b"part 0;", "the first chunk should arrive before the view has finished")
        rest = response.read()
        self.assertEqual(first + rest, b"".join(b"part %d;" % n for n in range(5)))

    def test_malformed_response_is_500_and_logged(self):
        response = self.request("GET", "/raw/malformed/")
        self.assertEqual(response.status, 500)
        self.assertIn(b"malformed response", response.read())
        self.assertLogged(
            "'status' must be an int from 100 to 999, not '200'. Reply: {'status': '200', 'content': b'x'}"
        )
        self.assertRegex(self.daphne.output(), r"Malformed HTTP response reply on 'http\.response\.")


@tag("live")
class WebsocketTests(ServedTestCase):
    settings_env = {"connect_timeout": "1"}

    def test_json_echo_with_order(self):
        socket = self.ws("/echo/")
        for number in range(3):
            socket.send(json.dumps({"n": number}))
            reply = json.loads(socket.recv())
            self.assertEqual((reply["echo"], reply["order"]), ({"n": number}, number + 1))
        self.assertRegex(reply["reply_channel"], r"^websocket\.send\.[A-Za-z0-9]+!")

    def test_bytes_both_ways(self):
        socket = self.ws("/echo/")
        socket.send_binary(b"\x00\x01abc")
        self.assertEqual(socket.recv(), b"cba\x01\x00")

    def test_rejected_connection_is_403(self):
        with self.assertRaises(websocket.WebSocketBadStatusException) as caught:
            self.ws("/reject/")
        self.assertEqual(caught.exception.status_code, 403)

    def test_server_side_close_with_a_code(self):
        socket = self.ws("/close/")
        socket.send("please close")
        self.assertEqual(close_code(socket), 4123)

    def test_connect_without_reply_is_rejected_after_the_timeout(self):
        with self.assertRaises(websocket.WebSocketBadStatusException) as caught:
            self.ws("/silent/")
        self.assertEqual(caught.exception.status_code, 403)
        self.assertLogged("No reply to websocket.connect on")

    def test_malformed_accept_is_logged_and_rejected(self):
        with self.assertRaises(websocket.WebSocketBadStatusException) as caught:
            self.ws("/bad-accept/")
        self.assertEqual(caught.exception.status_code, 403)
        self.assertLogged("'accept' must be True or False, not 'yes'. Reply: {'accept': 'yes'}")

    def test_malformed_text_is_logged_and_closes_with_1011(self):
        socket = self.ws("/bad-text/")
        socket.send("x")
        self.assertEqual(close_code(socket), 1011)
        self.assertLogged("'text' must be a str, not int 5. Reply: {'text': 5}")

    def test_100_clients_each_get_only_their_replies(self):
        sockets = [self.ws("/echo/") for _ in range(100)]
        for index, socket in enumerate(sockets):
            socket.send(json.dumps({"client": index}))
        channels = set()
        for index, socket in enumerate(sockets):
            reply = json.loads(socket.recv())
            self.assertEqual(reply["echo"], {"client": index})
            channels.add(reply["reply_channel"])
        self.assertEqual(len(channels), 100)

    def test_group_message_reaches_every_member_socket(self):
        members = [self.ws("/group/") for _ in range(3)]
        outsider = self.ws("/echo/")
        self.layer.send_group("room", {"text": "to the room"})
        self.assertEqual([socket.recv() for socket in members], ["to the room"] * 3)
        outsider.send(json.dumps("mine"))
        self.assertEqual(json.loads(outsider.recv())["echo"], "mine")


@tag("live")
class WorkerDeathTests(SimpleTestCase):
    """A worker killed mid-request: the client gets 504 after the HTTP timeout, not a hang."""

    def test_killed_worker_gives_504(self):
        layer_path = make_layer_directory(self)
        env = project_env(layer_path, http_timeout="2")
        daphne, port = start_daphne(env, self.addCleanup)
        worker = start_worker(env, self.addCleanup)
        layer = SQLiteChannelLayer(path=layer_path)
        self.addCleanup(layer.close)
        result = {}

        def get_slow():
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=CLIENT_TIMEOUT)
            try:
                connection.request("GET", "/slow/?seconds=60")
                response = connection.getresponse()
                result["status"], result["body"] = response.status, response.read()
            except Exception as error:  # shown by the assertion below
                result["error"] = error
            finally:
                connection.close()

        client = threading.Thread(target=get_slow)
        client.start()
        worker.wait_for(re.escape(SLOW_VIEW_STARTED), timeout=10)  # the worker holds the request
        worker.signal(signal.SIGKILL)
        client.join(CLIENT_TIMEOUT + 5)
        self.assertEqual(result.get("status"), 504, f"client result: {result}")
        self.assertIn(b"504 Gateway Timeout", result["body"])
        daphne.wait_for("No response message on .* answering 504")


def overflow_websocket_receive(testcase: SimpleTestCase, start_server: Callable) -> tuple[Child, int]:
    """Overfill 'websocket.receive' (capacity 1, nobody reading it); return the server and the close code."""
    env = project_env(make_layer_directory(testcase), capacity="1")
    server, port = start_server(env, testcase.addCleanup)
    start_worker(env, testcase.addCleanup, "--only-channels", "websocket.connect")
    socket = websocket.create_connection(f"ws://127.0.0.1:{port}/echo/", timeout=CLIENT_TIMEOUT)
    testcase.addCleanup(socket.close)
    socket.send("fills the channel")
    socket.send("finds it full")
    return server, close_code(socket)


@tag("live")
class BackPressureTests(SimpleTestCase):
    """Full channels: 503 for HTTP, a closed socket for WebSocket frames (capacity 1)."""

    def test_full_http_request_channel_gives_503(self):
        env = project_env(make_layer_directory(self), capacity="1", http_timeout="3")
        daphne, port = start_daphne(env, self.addCleanup)  # no worker: the first request stays queued
        first = threading.Thread(target=lambda: self.get(port, "/hello/"))
        first.start()
        self.addCleanup(first.join, CLIENT_TIMEOUT)
        layer = SQLiteChannelLayer(path=env["CHANNELS_INTERFACE_TEST_LAYER"])
        self.addCleanup(layer.close)
        deadline = time.monotonic() + 10
        while not layer.message_counts().get("http.request"):
            self.assertLess(time.monotonic(), deadline, "the first request never reached 'http.request'")
            time.sleep(0.02)
        status, body, headers = get_with_headers(port, "/hello/")
        self.assertEqual(status, 503, body)
        self.assertEqual(headers.get("retry-after"), "1", "the client is told when to try again")
        daphne.wait_for(re.escape("Channel 'http.request' is full; answering 503"), timeout=5)

    def test_full_websocket_receive_channel_closes_the_socket(self):
        daphne, code = overflow_websocket_receive(self, start_daphne)
        # The interface asks for 1013; Daphne lets applications use only 1000 and
        # 3000-4999, so it ends the connection itself, with 1011.
        self.assertEqual(code, 1011)
        daphne.wait_for(re.escape("Channel 'websocket.receive' is full; closing"), timeout=5)
        daphne.wait_for(re.escape("CloseCodeRefused: The server refused to close"), timeout=5)

    get = staticmethod(get)


MISSING_UVICORN = [name for name in ("uvicorn", "wsproto") if find_spec(name) is None]


@tag("live")
@skipIf(MISSING_UVICORN, f"{' and '.join(MISSING_UVICORN)} not installed (both are in the tests extra)")
class UvicornTests(SimpleTestCase):
    """The interface is plain ASGI 3: uvicorn serves it as Daphne does, close codes included."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        env = project_env(make_layer_directory(cls))
        cls.server, cls.port = start_uvicorn(env, cls.addClassCleanup)
        start_worker(env, cls.addClassCleanup)

    def test_view_and_websocket(self):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=CLIENT_TIMEOUT)
        self.addCleanup(connection.close)
        connection.request("GET", "/hello/?name=uvicorn")
        self.assertEqual(connection.getresponse().read()[:14], b"Hello uvicorn ")
        socket = websocket.create_connection(f"ws://127.0.0.1:{self.port}/echo/", timeout=CLIENT_TIMEOUT)
        self.addCleanup(socket.close)
        socket.send(json.dumps([1, 2]))
        self.assertEqual(json.loads(socket.recv())["echo"], [1, 2])

    def test_full_websocket_receive_channel_closes_with_1013(self):
        server, code = overflow_websocket_receive(self, start_uvicorn)
        self.assertEqual(code, 1013)
        server.wait_for(re.escape("Channel 'websocket.receive' is full; closing"), timeout=5)

    def test_malformed_text_closes_with_1011(self):
        socket = websocket.create_connection(f"ws://127.0.0.1:{self.port}/bad-text/", timeout=CLIENT_TIMEOUT)
        self.addCleanup(socket.close)
        socket.send("x")
        self.assertEqual(close_code(socket), 1011)
        self.server.wait_for(re.escape("'text' must be a str, not int 5"), timeout=10)


class ReplyCheckTests(SimpleTestCase):
    """What the interface accepts from consumers (no server needed)."""

    def test_http_replies(self):
        self.assertIsNone(check_http_reply({"status": 200, "headers": [[b"a", b"b"]], "content": b"x"}, first=True))
        self.assertIsNone(check_http_reply({"content": b"x", "more_content": True}, first=False))
        problems = {
            "the first response message has no 'status'": ({"content": b""}, True),
            "'status' must be an int from 100 to 999, not True": ({"status": True}, True),
            "'content' must be bytes, not str": ({"status": 200, "content": "x"}, True),
            "unknown key(s) 'body'": ({"status": 200, "body": b""}, True),
        }
        for problem, (reply, first) in problems.items():
            with self.subTest(reply=reply):
                self.assertIn(problem, check_http_reply(reply, first=first))

    def test_websocket_replies(self):
        for reply in ({"accept": True}, {"text": "x"}, {"bytes": b"x", "close": 4000}, {"close": True}):
            self.assertIsNone(check_websocket_reply(reply), reply)
        problems = {
            "'accept' must be True or False, not 'yes'": {"accept": "yes"},
            "'text' must be a str, not int 5": {"text": 5},
            "unknown key(s) 'txt'": {"txt": "x"},
            "not both": {"text": "x", "bytes": b"x"},
            "'close' must be True, False or a close code": {"close": 999},
            "the reply is empty": {},
        }
        for problem, reply in problems.items():
            with self.subTest(reply=reply):
                self.assertIn(problem, check_websocket_reply(reply))

    def test_options_are_checked(self):
        with self.assertRaisesMessage(ValueError, "http_timeout must be a positive number of seconds, not 0"):
            InterfaceApplication(http_timeout=0)
        with self.assertRaisesMessage(TypeError, "alias must be a CHANNEL_LAYERS name (str), not 5"):
            InterfaceApplication(5)
        self.assertEqual(InterfaceApplication(http_timeout=3).http_timeout, 3.0)


class InProcessWebsocketTests(InProcessTestCase):
    async def test_frames_before_acceptance_are_buffered_then_sent_in_order(self):
        # Daphne and uvicorn hold early frames themselves; a server that hands
        # them over before the accept must not lose them either.
        communicator = self.websocket("/early/")
        await communicator.send_input({"type": "websocket.connect"})
        connect = await self.take("websocket.connect")
        await communicator.send_input({"type": "websocket.receive", "text": "early"})
        await communicator.send_input({"type": "websocket.receive", "bytes": b"earlier still"})
        await asyncio.sleep(0.3)
        self.assertEqual(
            self.worker_layer.message_counts().get("websocket.receive", 0),
            0,
            "frames went to the workers before the connection was accepted",
        )
        await self.reply(connect["reply_channel"], {"accept": True})
        self.assertEqual(await communicator.receive_output(10), {"type": "websocket.accept"})
        first, second = await self.take("websocket.receive"), await self.take("websocket.receive")
        self.assertEqual((first["text"], first["order"]), ("early", 1))
        self.assertEqual((second["bytes"], second["order"]), (b"earlier still", 2))

    async def test_accept_false_rejects_even_with_a_frame(self):
        communicator = self.websocket()
        await communicator.send_input({"type": "websocket.connect"})
        connect = await self.take("websocket.connect")
        await self.reply(connect["reply_channel"], {"accept": False, "text": "dropped"})
        self.assertEqual(await communicator.receive_output(10), {"type": "websocket.close"})
        self.assertTrue(await communicator.receive_nothing(0.2))

    async def test_disconnect_carries_code_path_and_order(self):
        communicator, reply_channel = await self.open_websocket("/chat/")
        for text in ("one", "two"):
            await communicator.send_input({"type": "websocket.receive", "text": text})
        await communicator.send_input({"type": "websocket.disconnect", "code": 1001})
        orders = [(await self.take("websocket.receive"))["order"] for _ in range(2)]
        disconnect = await self.take("websocket.disconnect")
        self.assertEqual(orders, [1, 2])
        self.assertEqual(disconnect, {"reply_channel": reply_channel, "path": "/chat/", "order": 3, "code": 1001})

    async def test_the_event_loop_receives_the_replies_of_every_connection(self):
        sockets = [await self.open_websocket() for _ in range(50)]
        self.assertEqual(reply_threads(), [], "a reply thread runs beside the event loop")
        self.assertEqual(self.app.receiver.names, (self.app.receiver.http_prefix, self.app.receiver.websocket_prefix))
        for index, (_, reply_channel) in reversed(list(enumerate(sockets))):
            await self.reply(reply_channel, {"text": f"for {index}"})
        for index, (communicator, _) in enumerate(sockets):
            self.assertEqual(await communicator.receive_output(10), {"type": "websocket.send", "text": f"for {index}"})

    async def test_more_replies_than_one_batch_arrive_without_waiting_for_the_next_look(self):
        # Only pokes make it look.
        with (
            mock.patch.object(LoopReplies, "LOOK_INTERVAL", 60),
            mock.patch.object(LoopReplies, "LONGEST_LOOK_INTERVAL", 60),
        ):
            sockets = [await self.open_websocket() for _ in range(TRY_RECEIVE_LIMIT + 4)]
            # Sent without yielding to the event loop: its first look finds them all waiting.
            for index, (_, reply_channel) in enumerate(sockets):
                self.worker_layer.send(reply_channel, {"text": f"for {index}"})
            for index, (communicator, _) in enumerate(sockets):
                self.assertEqual(
                    await communicator.receive_output(10), {"type": "websocket.send", "text": f"for {index}"}
                )

    async def test_a_reply_stored_without_a_poke_arrives_at_a_later_look(self):
        communicator, reply_channel = await self.open_websocket()
        await asyncio.sleep(2.5)  # the looks without a poke have thinned out to the longest interval
        layer = self.worker_layer
        stored = sqlite3.connect(layer.path, isolation_level=None, check_same_thread=False)
        self.addCleanup(stored.close)
        stored.execute(
            "INSERT INTO channels_test_messages (prefix, channel, local, expires, data) VALUES (?, ?, ?, ?, ?)",
            (
                layer.prefix,
                reply_channel,
                layer.non_local_name(reply_channel),
                time.time() + 60,
                layer.encode_for_later({"text": "unpoked"}),
            ),
        )
        self.assertEqual(await communicator.receive_output(10), {"type": "websocket.send", "text": "unpoked"})

    async def test_connections_on_a_second_event_loop_move_the_replies_to_one_thread(self):
        first, first_channel = await self.open_websocket()
        other_loop = asyncio.new_event_loop()
        runner = threading.Thread(target=other_loop.run_forever, daemon=True)
        runner.start()

        async def end_its_tasks() -> None:
            tasks = asyncio.all_tasks() - {asyncio.current_task()}
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        def end_other_loop() -> None:
            asyncio.run_coroutine_threadsafe(end_its_tasks(), other_loop).result(10)
            other_loop.call_soon_threadsafe(other_loop.stop)
            runner.join(10)
            other_loop.close()

        self.addCleanup(end_other_loop)

        async def on_other_loop(coroutine):
            return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coroutine, other_loop))

        second, second_channel = await on_other_loop(self.open_websocket())
        self.assertEqual(len(reply_threads()), 1)
        await self.reply(first_channel, {"text": "first"})
        await self.reply(second_channel, {"text": "second"})
        self.assertEqual(await first.receive_output(10), {"type": "websocket.send", "text": "first"})
        self.assertEqual(await on_other_loop(second.receive_output(10)), {"type": "websocket.send", "text": "second"})

    async def test_a_reply_found_while_the_layer_file_is_locked_arrives(self):
        communicator, reply_channel = await self.open_websocket()
        layer = self.app.channel_layer
        answers = [None]  # the first look finds the file locked

        def try_receive(channels):
            return answers.pop() if answers else SQLiteChannelLayer.try_receive(layer, channels)

        with mock.patch.object(layer, "try_receive", try_receive):
            await self.reply(reply_channel, {"text": "after the lock"})
            self.assertEqual(
                await communicator.receive_output(10), {"type": "websocket.send", "text": "after the lock"}
            )
        self.assertEqual(answers, [])

    async def test_a_frame_sent_while_the_layer_file_is_locked_arrives(self):
        communicator, _ = await self.open_websocket()
        lock = sqlite3.connect(self.worker_layer.path, isolation_level=None, check_same_thread=False)
        self.addCleanup(lock.close)
        lock.execute("BEGIN IMMEDIATE")
        # The event loop cannot store the frame now; a send thread waits for the lock.
        await communicator.send_input({"type": "websocket.receive", "text": "locked out"})
        await asyncio.sleep(0.2)
        lock.execute("COMMIT")
        self.assertEqual((await self.take("websocket.receive"))["text"], "locked out")


class InProcessHttpTests(InProcessTestCase):
    async def test_client_leaving_early_sends_http_disconnect(self):
        scope = {
            "type": "http",
            "method": "GET",
            "path": "/long-poll/",
            "query_string": b"",
            "headers": [],
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 80),
        }
        communicator = ApplicationCommunicator(self.app, scope)
        self.addCleanup(communicator.stop, exceptions=False)
        await communicator.send_input({"type": "http.request", "body": b""})
        request = await self.take("http.request")
        await communicator.send_input({"type": "http.disconnect"})
        self.assertEqual(
            await self.take("http.disconnect"), {"reply_channel": request["reply_channel"], "path": "/long-poll/"}
        )


def reply_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name == "channels-interface-replies"]


STATIC_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "live", "static")


@override_settings(ROOT_URLCONF="tests.interface_project", STATIC_URL="/static/", STATICFILES_DIRS=[STATIC_DIR])
class StaticFilesTests(SimpleTestCase):
    """The static files consumer runserver and the live server put in place of the views."""

    def get(self, consumer, path: str) -> tuple[int, bytes]:
        """Run ``consumer`` on a GET of ``path``; return the status and the whole body."""
        layer = InMemoryChannelLayer()
        reply_channel = "http.response.static-test"
        content = {
            "reply_channel": reply_channel,
            "method": "GET",
            "path": path,
            "query_string": b"",
            "headers": [[b"host", b"localhost"]],
        }
        consumer(Message(content, "http.request", layer))
        replies = []
        while (reply := layer.receive([reply_channel])[1]) is not None:
            replies.append(reply)
        return replies[0]["status"], b"".join(reply.get("content", b"") for reply in replies)

    def test_static_files_come_from_the_finders_and_other_paths_from_the_views(self):
        with open(os.path.join(STATIC_DIR, "live", "echo.js"), "rb") as source:
            self.assertEqual(self.get(StaticFilesConsumer(), "/static/live/echo.js"), (200, source.read()))
        self.assertEqual(self.get(StaticFilesConsumer(), "/static/live/missing.js")[0], 404)
        status, body = self.get(StaticFilesConsumer(), "/hello/")
        self.assertEqual((status, body[:11]), (200, b"Hello world"))

    def test_only_the_default_view_consumer_is_replaced(self):
        def own_http(message):
            pass

        router = Router([route("http.request", own_http, path=r"^/own/")])
        add_default_routes(router, serve_static=True)
        consumers = [router.match(Message({"path": path}, "http.request", None))[0] for path in ("/own/", "/other/")]
        self.assertIs(consumers[0], own_http)
        self.assertIsInstance(consumers[1], StaticFilesConsumer)

    def test_without_static_files_the_default_is_the_view_consumer(self):
        router = Router([])
        add_default_routes(router, serve_static=False)
        consumer = router.match(Message({"path": "/static/x.js"}, "http.request", None))[0]
        self.assertIs(type(consumer), ViewConsumer)
