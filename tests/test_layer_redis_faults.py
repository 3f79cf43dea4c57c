"""How the Redis layer fails: every kind of server trouble, and one shard of two going down.

Each test starts the ``redis-server`` processes (or the HTTP server) it
needs on free loopback ports and stops them by pid.
"""

from __future__ import annotations

import http.server
import threading
import time
import uuid
from collections.abc import Callable

from django.test import SimpleTestCase

from channels_test.asgi import ChannelLayerWrapper
from channels_test.layers.redis import (
    RedisAuthenticationError,
    RedisChannelLayer,
    RedisOutOfMemoryError,
    RedisProtocolError,
    RedisReadOnlyError,
    RedisUnavailable,
)
from channels_test.routing import route
from channels_test.worker import Worker
from tests.support.redis import RedisServer, free_port

WAIT = 10.0


def wait_for(
    test: SimpleTestCase,
    condition: Callable[[], bool],
    what: str,
    timeout: float = WAIT,
    alive: threading.Thread | None = None,
) -> None:
    """Wait until ``condition()`` holds; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if alive is not None:
            test.assertTrue(alive.is_alive(), f"the worker thread died while waiting for {what}")
        if time.monotonic() > deadline:
            test.fail(f"no {what} within {timeout:g} s")
        time.sleep(0.02)


def start_server(test: SimpleTestCase, *args: str, port: int | None = None, password: str | None = None) -> RedisServer:
    server = RedisServer(port, args=args, password=password)
    server.start()
    test.addCleanup(server.stop)
    return server


def start_http_server(test: SimpleTestCase, port: int = 0) -> http.server.HTTPServer:
    """Serve HTTP (404 for everything) on a loopback port from a thread; stopped at clean-up."""

    class Quiet(http.server.BaseHTTPRequestHandler):
        # Answer a request line that is not HTTP with a status line, as web
        # servers do (http.server's default, HTTP/0.9, answers with a bare body).
        default_request_version = "HTTP/1.0"

        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join(5)

    test.addCleanup(stop)
    server.stop = stop
    return server


class WorkerThread:
    """A real Worker on ``layer`` in a thread, recording the ``n`` of each message it handles."""

    def __init__(self, test: SimpleTestCase, layer: RedisChannelLayer, channels: list[str]):
        self.handled: list = []
        wrapper = ChannelLayerWrapper(
            layer, "faults", [route(name, lambda message: self.handled.append(message["n"])) for name in channels]
        )
        self.worker = Worker(wrapper, signal_handlers=False)
        self.worker.outage_retry_interval = 0.05
        self.thread = threading.Thread(target=self.worker.run)
        self.thread.start()
        test.addCleanup(self.thread.join, 10)
        test.addCleanup(self.worker.stop)


class ErrorKindTests(SimpleTestCase):
    """Each kind of trouble leaves the layer as RedisUnavailable (a ConnectionError) saying what it is."""

    def layer(self, url: str, **config) -> RedisChannelLayer:
        layer = RedisChannelLayer(hosts=[url], prefix=f"kind{uuid.uuid4().hex[:8]}", **config)
        self.addCleanup(layer.close)
        return layer

    def assert_fails(self, kind: type, call: Callable, *patterns: str) -> RedisUnavailable:
        with self.assertRaises(kind) as caught:
            call()
        self.assertIsInstance(caught.exception, ConnectionError)
        for pattern in patterns:
            self.assertRegex(str(caught.exception), pattern)
        return caught.exception

    def test_wrong_password_is_named_as_such(self):
        server = start_server(self, "--requirepass", "right-password", password="right-password")
        address = rf"127\.0\.0\.1:{server.port}"
        for url in (f"redis://127.0.0.1:{server.port}/0", f"redis://:wrong-password@127.0.0.1:{server.port}/0"):
            with self.subTest(url=url):
                layer = self.layer(url)
                for call in (lambda layer=layer: layer.send("a", {}), lambda layer=layer: layer.receive(["a"])):
                    error = self.assert_fails(
                        RedisAuthenticationError, call, address, "refused the layer's credentials", "password"
                    )
                    self.assertNotIn("Start it", str(error))
                    self.assertNotIn("wrong-password", str(error))
        layer = self.layer(f"redis://:right-password@127.0.0.1:{server.port}/0")
        layer.send("a", {"n": 1})
        self.assertEqual(layer.receive(["a"]), ("a", {"n": 1}))

    def test_a_port_that_speaks_http_is_named(self):
        web = start_http_server(self)
        port = web.server_address[1]
        layer = self.layer(f"redis://127.0.0.1:{port}/0", blocking_timeout=0.3)
        for call in (
            lambda: layer.send("a", {}),
            lambda: layer.receive(["a"]),
            lambda: layer.receive(["a"], block=True),
            layer.flush,
        ):
            self.assert_fails(
                RedisProtocolError,
                call,
                rf"127\.0\.0\.1:{port}",
                "Something other than a Redis server answers",
                "'hosts'",
            )

    def test_read_only_replica_is_named(self):
        master = start_server(self)
        replica = start_server(self, "--replicaof", "127.0.0.1", str(master.port))
        layer = self.layer(replica.url)
        for call in (lambda: layer.send("a", {}), lambda: layer.receive(["a"]), lambda: layer.group_add("g", "a")):
            self.assert_fails(RedisReadOnlyError, call, rf"127\.0\.0\.1:{replica.port}", "read-only replica", "master")

    def test_out_of_memory_fails_sends_and_receives_drain(self):
        server = start_server(self, "--maxmemory", "2mb", "--maxmemory-policy", "noeviction")
        layer = self.layer(server.url, capacity=100000)
        payload = "x" * 20000
        sent = 0
        with self.assertRaises(RedisOutOfMemoryError) as caught:
            for _ in range(1000):  # 20 MB: well past maxmemory
                layer.send("full", {"n": sent, "data": payload})
                sent += 1
        self.assertGreater(sent, 0)
        self.assertIsInstance(caught.exception, ConnectionError)
        self.assertRegex(str(caught.exception), rf"127\.0\.0\.1:{server.port}.*out of memory")
        self.assertFalse(caught.exception.server_down)
        # Receiving still works (and frees memory): the server is not treated as down.
        received = [layer.receive(["full"])[1]["n"] for _ in range(sent)]
        self.assertEqual(received, list(range(sent)))
        layer.send("full", {"n": "after"})
        self.assertEqual(layer.receive(["full"]), ("full", {"n": "after"}))

    def test_worker_goes_on_when_replies_fail_for_lack_of_memory(self):
        server = start_server(self, "--maxmemory", "2mb", "--maxmemory-policy", "noeviction")
        layer = self.layer(server.url, capacity=100000)
        for number in range(5):
            layer.send("work", {"n": number, "reply_channel": "out"})
        filled = 0
        with self.assertRaises(RedisOutOfMemoryError):
            for _ in range(1000):
                layer.send("filler", {"data": "x" * 20000})
                filled += 1
        handled: list = []

        def consumer(message) -> None:
            handled.append(message["n"])
            message.reply_channel.send({"n": message["n"], "data": "y" * 20000})

        wrapper = ChannelLayerWrapper(layer, "memory", [route("work", consumer)])
        worker = Worker(wrapper, signal_handlers=False)
        thread = threading.Thread(target=worker.run)
        with self.assertLogs("django.channels", "WARNING") as logs:
            thread.start()
            self.addCleanup(thread.join, 10)
            self.addCleanup(worker.stop)
            wait_for(self, lambda: len(handled) == 5, "5 messages handled", alive=thread)
            self.assertEqual(len(logs.records), 1, logs.output)
            self.assertIn("Sending to the channel layer failed for consumer", logs.output[0])
            self.assertIn("out of memory", logs.output[0])
            for _ in range(filled):  # free the memory
                layer.receive(["filler"])
            layer.send("work", {"n": 5, "reply_channel": "out"})
            wait_for(self, lambda: len(logs.records) == 2, "sends working again", alive=thread)
        self.assertIn("takes sends again", logs.output[1])
        self.assertEqual(layer.receive(["out"])[1]["n"], 5)
        self.assertEqual(layer.receive(["out"]), (None, None), "the failed replies were dropped")

    def test_worker_rides_out_a_protocol_error(self):
        port = free_port()
        web = start_http_server(self, port)
        layer = self.layer(f"redis://127.0.0.1:{port}/0", blocking_timeout=0.2)
        with self.assertLogs("django.channels", "WARNING") as logs:
            worker = WorkerThread(self, layer, ["work"])
            wait_for(self, lambda: logs.records, "outage logged", alive=worker.thread)
            server = layer._servers[0]
            for _ in range(2):  # more failed receives, none of them logged
                tried = server.retry_at
                wait_for(
                    self, lambda tried=tried: server.retry_at > tried, "another try of the server", alive=worker.thread
                )
            self.assertEqual(len(logs.records), 1, logs.output)
            web.stop()
            redis_server = start_server(self, port=port)
            wait_for(self, lambda: len(logs.records) > 1, "recovery logged", alive=worker.thread)
        self.assertEqual(len(logs.records), 2, logs.output)
        self.assertIn("Something other than a Redis server answers", logs.output[0])
        self.assertIn(f"127.0.0.1:{port}", logs.output[0])
        self.assertIn("answers again", logs.output[1])
        RedisChannelLayer(hosts=[redis_server.url], prefix=layer.prefix).send("work", {"n": 1})
        wait_for(self, lambda: worker.handled == [1], "message handled", alive=worker.thread)


class DeadShardTests(SimpleTestCase):
    """Two servers; one dies under a running worker and comes back on the same port."""

    def test_a_dead_shard_costs_only_its_own_channels(self):
        servers = [start_server(self), start_server(self)]
        layer = RedisChannelLayer(
            hosts=[server.url for server in servers], prefix=f"dead{uuid.uuid4().hex[:8]}", blocking_timeout=1
        )
        self.addCleanup(layer.close)
        names = [f"work.{number}" for number in range(40)]
        healthy = [name for name in names if layer.host_of(name) == 0][:8]
        doomed = [name for name in names if layer.host_of(name) == 1][:8]
        self.assertEqual((len(healthy), len(doomed)), (8, 8))
        worker = WorkerThread(self, layer, healthy + doomed)
        layer.send(doomed[0], {"n": "before"})
        wait_for(self, lambda: worker.handled == ["before"], "message handled before the outage", alive=worker.thread)

        with self.assertLogs("channels_test", "WARNING") as logs:
            servers[1].stop()  # by pid
            for number, name in enumerate(healthy):
                layer.send(name, {"n": number})
            wait_for(
                self,
                lambda: sorted(worker.handled[1:]) == list(range(8)),
                "delivery of the 8 messages on the healthy server",
                timeout=5,
                alive=worker.thread,
            )
            for name in doomed:
                started = time.monotonic()
                with self.assertRaisesRegex(RedisUnavailable, rf"127\.0\.0\.1:{servers[1].port}.*Start it"):
                    layer.send(name, {"n": "lost"})
                self.assertLess(time.monotonic() - started, 2, "the send did not fail fast")
            dead = layer._servers[1]
            tried = dead.retry_at
            wait_for(self, lambda: dead.retry_at > tried, "another try of the dead server")
            self.assertEqual(len(logs.records), 1, logs.output)
            self.assertIn(f"127.0.0.1:{servers[1].port}", logs.output[0])
            self.assertIn("other servers carry on", logs.output[0])

            servers[1].start()  # the same port
            wait_for(self, lambda: len(logs.records) > 1, "the layer finding the server again")
        self.assertEqual(len(logs.records), 2, logs.output)
        self.assertIn("answers again", logs.output[1])
        layer.send(doomed[1], {"n": "after"})
        layer.send(healthy[0], {"n": "after too"})
        wait_for(
            self,
            lambda: {"after", "after too"} <= set(worker.handled),
            "delivery on both servers after the restart",
            alive=worker.thread,
        )
        self.assertNotIn("lost", worker.handled)
