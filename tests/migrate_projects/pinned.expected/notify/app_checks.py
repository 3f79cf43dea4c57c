from importlib import import_module
from unittest import mock

from channels_test import Group
from channels_test.test import ChannelTestCase, WSClient, apply_routes
from channels_test.routing import route


class NotifyTests(ChannelTestCase):
    def test_routing_string_resolves(self):
        routing = import_module("channels_test.routing")
        self.assertIs(routing.route, route)

    def test_deliver_reaches_the_group(self):
        client = WSClient()
        Group("notify-ann").add(client.reply_channel)
        client.send_and_consume("notify.send", {"user": "ann", "text": "hello"})
        self.assertEqual(client.receive(json=False), "hello")

    def test_patched_by_dotted_path(self):
        with mock.patch("channels_test.channel.Group.send") as send:
            with apply_routes([route("notify.send", "notify.consumers.deliver")]):
                client = WSClient()
                client.send_and_consume("notify.send", {"user": "bob", "text": "x"})
        send.assert_called_once_with({"text": "x"})
