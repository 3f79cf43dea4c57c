from channels_test import Channel, Group
from channels_test.test import ChannelTestCase, WSClient


class ChatTests(ChannelTestCase):
    def test_message_reaches_the_room(self):
        client = WSClient()
        client.send_and_consume("websocket.connect", path="/chat/")
        self.assertIsNone(client.receive())
        Group("chat-lobby").add("listener")
        client.send_and_consume("websocket.receive", {"text": "hi"}, path="/chat/")
        self.assertEqual(self.get_next_message("listener", require=True).content, {"text": "hi"})

    def test_json_consumer_echoes(self):
        client = WSClient()
        client.send_and_consume("websocket.connect", path="/json/")
        client.send_and_consume("websocket.receive", text={"n": 1}, path="/json/")
        self.assertEqual(client.receive(), {"echo": {"n": 1}})

    def test_channel_send(self):
        Channel("work").send({"job": 1})
        self.assertEqual(self.get_next_message("work", require=True)["job"], 1)
