"""The unittest-style test cases run under pytest and pytest-django unchanged."""

import urllib.request

from django.contrib.auth.models import User
from websocket import create_connection

from channels_test import Channel, Group, channel_layers
from channels_test.layers.inmemory import InMemoryChannelLayer
from channels_test.routing import route
from channels_test.test import ChannelLiveServerTestCase, ChannelTestCase, Client, WSClient, apply_routes
from tests_pytest import consumers


class ConsumerTests(ChannelTestCase):
    test_channel_aliases = ["default", "other"]

    @classmethod
    def setUpTestData(cls):
        cls.alice = User.objects.create_user("alice")

    def test_consumers_run_on_captive_layers(self):
        self.assertIsInstance(channel_layers["other"].channel_layer, InMemoryChannelLayer)
        Client().send_and_consume("square", {"value": 3, "reply_to": "result"})
        self.assertMessage("result", value=9)
        self.assertNoMessages()

    def test_layers_are_flushed_between_tests_1(self):
        Channel("left.behind").send({"n": 1})

    def test_layers_are_flushed_between_tests_2(self):
        self.assertIsNone(self.get_next_message("left.behind"))

    def test_consumers_see_the_test_s_rows(self):
        Client().send_and_consume("create-user", {"username": "bob", "reply_to": "created"})
        self.assertMessage("created")
        self.assertEqual(sorted(User.objects.values_list("username", flat=True)), ["alice", "bob"])

    def test_ws_client_logs_in(self):
        client = WSClient()
        client.force_login(self.alice)
        client.send_and_consume("websocket.connect", path="/")
        self.assertGroupMembers(consumers.ROOM, [client.reply_channel])

    @apply_routes([route("square", consumers.double)])
    def test_apply_routes(self):
        Client().send_and_consume("square", {"value": 3, "reply_to": "result"})
        self.assertMessage("result", value=6)


class LiveTests(ChannelLiveServerTestCase):
    def test_http_reaches_views_and_the_test_database(self):
        User.objects.create(username="made-in-the-test")
        with urllib.request.urlopen(self.live_server_url + "/usernames/", timeout=10) as response:
            self.assertEqual(response.read().decode(), "made-in-the-test")

    def test_group_send_reaches_live_sockets(self):
        ws = create_connection(self.live_server_ws_url + "/ws/", timeout=10)
        self.addCleanup(ws.close)
        ws.send("joined")
        self.assertEqual(ws.recv(), "echo: joined")
        Group(consumers.ROOM).send({"text": "from the test"}, immediately=True)
        self.assertEqual(ws.recv(), "from the test")

    def test_the_workers_answer(self):
        Channel("inspect").send({"reply_to": "inspected"})
        answer = self.get_next_message("inspected", require=True)
        self.assertIn(answer["pid"], [process.pid for process in self._live_processes])
