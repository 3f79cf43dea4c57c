import channels
from channels.tests import ChannelTestCase, HttpClient

from polls import consumers


class PollTests(ChannelTestCase):
    def test_vote_is_counted_and_broadcast(self):
        client = HttpClient()
        client.send_and_consume("websocket.connect", path="/polls/tea/")
        channels.Channel("polls.vote").send({"poll": "tea", "reply_to": "me"})
        self.consume("polls.vote")
        self.assertEqual(client.receive(json=False), "1")
        self.assertEqual(self.get_next_message("me", require=True)["count"], 1)

    def consume(self, name):
        message = self.get_next_message(name, require=True)
        consumers.vote(message)

    def test_look_alikes_are_left_alone(self):
        self.assertEqual(consumers.describe(["a", "b"]), "channels are great: a, b")
        self.assertEqual(consumers.mychannels, ["polls.vote"])
