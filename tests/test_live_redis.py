"""The live server over Redis: one Daphne, two worker processes sharing the load.

The layer comes from ``TEST_CONFIG`` (Redis at ``CHANNELS_TEST_REDIS_URL``,
default ``redis://127.0.0.1:6379/0``). This module is also the children's
URLconf and routing.
"""

import os
import threading
import time
import urllib.request

from django.http import HttpResponse
from django.test import override_settings, tag
from django.urls import path
from websocket import create_connection

from channels_test import Channel, Group
from channels_test.asgi import channel_layers
from channels_test.layers.redis import RedisChannelLayer
from channels_test.routing import route
from channels_test.test.live import ChannelLiveServerTestCase, WorkerProcess
from tests.live import consumers
from tests.live.routing import channel_routing as live_routing
from tests.support.redis import REDIS_URL, require_redis

WORK_SECONDS = 0.05


def slow_pid(request):
    """Answer with this worker's pid after a short piece of work."""
    time.sleep(WORK_SECONDS)
    return HttpResponse(str(os.getpid()), content_type="text/plain")


def slow_pid_consumer(message):
    time.sleep(WORK_SECONDS)
    Channel(message["reply_to"]).send({"pid": os.getpid(), "n": message["n"]})


urlpatterns = [path("pid/", slow_pid)]
channel_routing = [route("live.redis.work", slow_pid_consumer), *live_routing]

REDIS_LAYERS = {
    "default": {
        "BACKEND": "channels_test.layers.redis.RedisChannelLayer",
        "CONFIG": {"hosts": [REDIS_URL], "prefix": "live-redis-config-unused"},
        "TEST_CONFIG": {"hosts": [REDIS_URL], "prefix": "live-redis"},
        "ROUTING": "tests.test_live_redis.channel_routing",
    },
}


@tag("live")
@override_settings(CHANNEL_LAYERS=REDIS_LAYERS, ROOT_URLCONF="tests.test_live_redis")
class RedisLiveServerTests(ChannelLiveServerTestCase):
    worker_processes = 2
    available_apps = ["channels_test", "tests.testapp"]

    @classmethod
    def setUpClass(cls):
        require_redis()
        super().setUpClass()

    def test_the_live_layer_is_redis_under_a_prefix_of_this_process(self):
        layer = channel_layers["default"].channel_layer
        self.assertIsInstance(layer, RedisChannelLayer)
        self.assertEqual(layer.prefix, f"live-redis-live{os.getpid()}")

    def test_two_workers_share_http_requests_behind_one_daphne(self):
        pids, errors = [], []

        def fetch() -> None:
            try:
                with urllib.request.urlopen(self.live_server_url + "/pid/", timeout=20) as answer:
                    pids.append(int(answer.read()))
            except Exception as error:  # reported by the assertion below
                errors.append(error)

        threads = [threading.Thread(target=fetch) for _ in range(16)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        self.assertEqual(errors, [])
        self.assertEqual(len(pids), 16)
        self.assertEqual(len(set(pids)), 2, f"requests answered by {sorted(set(pids))}")
        worker_pids = {process.pid for process in self._live_processes if isinstance(process, WorkerProcess)}
        self.assertEqual(set(pids), worker_pids)

    def test_two_workers_share_messages_each_handled_once(self):
        for number in range(20):
            Channel("live.redis.work").send({"reply_to": "live.redis.done", "n": number}, immediately=True)
        answers = [self.get_next_message("live.redis.done", require=True, timeout=20) for _ in range(20)]
        self.assertEqual(sorted(answer["n"] for answer in answers), list(range(20)))
        self.assertEqual(len({answer["pid"] for answer in answers}), 2)
        self.assertIsNone(self.get_next_message("live.redis.done", timeout=0.2))

    def test_websocket_replies_and_group_sends_over_redis(self):
        ws = create_connection(self.live_server_ws_url + "/ws/", timeout=10)
        self.addCleanup(ws.close)
        ws.send("over redis")
        self.assertEqual(ws.recv(), "echo: over redis")
        Group(consumers.ROOM).send({"text": "from the test"}, immediately=True)
        self.assertEqual(ws.recv(), "from the test")
