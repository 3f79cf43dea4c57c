"""A real Daphne and worker over a Redis layer whose server the test stops and starts again.

The Redis server is the test's own (a ``redis-server`` on a free loopback
port, stopped by pid), so stopping it disturbs no other test.
"""

import http.client
import json
import re
import time

import websocket
from django.test import SimpleTestCase, tag

from tests.support.interface import CLIENT_TIMEOUT, close_code, make_layer_directory
from tests.support.processes import project_env, start_daphne, start_worker
from tests.support.redis import RedisServer

OUTAGE_LINE = "The channel layer is unavailable"


@tag("live")
class LayerDownTests(SimpleTestCase):
    def setUp(self):
        self.redis = RedisServer()
        self.redis.start()
        self.addCleanup(self.redis.stop)
        env = project_env(make_layer_directory(self), REDIS="1", REDIS_URL=self.redis.url)
        self.daphne, self.port = start_daphne(env, self.addCleanup)
        self.worker = start_worker(env, self.addCleanup)

    def get(self, path: str) -> http.client.HTTPResponse:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=CLIENT_TIMEOUT)
        self.addCleanup(connection.close)
        connection.request("GET", path)
        return connection.getresponse()

    def lines(self, text: str) -> list[str]:
        return [line for line in self.daphne.output().splitlines() if text in line]

    def test_layer_down_answers_503_and_closes_websockets_with_one_log_line(self):
        self.assertEqual(self.get("/hello/").status, 200)
        open_socket = websocket.create_connection(f"ws://127.0.0.1:{self.port}/ws/", timeout=CLIENT_TIMEOUT)
        self.addCleanup(open_socket.close)
        open_socket.send(json.dumps("before"))
        self.assertEqual(json.loads(open_socket.recv())["echo"], "before")

        self.redis.stop()
        for _ in range(5):
            response = self.get("/hello/")
            body = response.read()
            self.assertEqual(response.status, 503, body)
            self.assertEqual(response.getheader("content-type"), "text/plain; charset=utf-8")
            self.assertEqual(response.getheader("retry-after"), "5")
            self.assertLess(len(body), 200)
            self.assertIn(b"channel layer", body)
        socket = websocket.create_connection(f"ws://127.0.0.1:{self.port}/ws/", timeout=CLIENT_TIMEOUT)
        self.addCleanup(socket.close)
        # Daphne lets no application close with 1013; it closes with 1011 itself.
        self.assertEqual(close_code(socket), 1011)
        open_socket.send(json.dumps("during"))  # cannot reach the workers: closed the same way
        self.assertEqual(close_code(open_socket), 1011)
        self.daphne.wait_for(re.escape(OUTAGE_LINE))

        self.redis.start()  # the same port
        deadline = time.monotonic() + 20
        while (status := self.get("/hello/").status) != 200:
            self.assertEqual(status, 503)
            self.assertLess(time.monotonic(), deadline, "no 200 within 20 s of Redis restarting")
            time.sleep(0.2)
        # Logged after everything the outage made Daphne log, so the output is complete.
        self.daphne.wait_for("The channel layer answers again")

        outage = self.lines(OUTAGE_LINE)
        self.assertEqual(len(outage), 1, self.daphne.output())
        self.assertIn(f"127.0.0.1:{self.redis.port}", outage[0])
        self.assertEqual(self.lines("Traceback"), [], self.daphne.output())
        self.assertEqual(self.lines("Exception inside application"), [], self.daphne.output())
        self.assertIsNone(self.worker.process.poll(), self.worker.output())
