"""ChatConsumer and the room list, tested through the channel layer with WSClient.

ChannelTestCase swaps in an in-memory channel layer for each test, so no
Daphne, worker or SQLite layer file is involved: WSClient puts the messages
a browser would cause on the layer and runs the consumer the routing picks.
"""

from django.contrib.auth.models import User

from channels_test.exceptions import DenyConnection
from channels_test.test import ChannelTestCase, WSClient, apply_routes
from chat.bindings import ROOM_LIST_GROUP
from chat.consumers import MAX_MESSAGE_LENGTH, ChatConsumer
from chat.models import Room

LOBBY = Room.group_name("lobby")
# Browsers send the page's origin with the handshake; ChatConsumer checks it.
ORIGIN = "http://localhost:8000"


class ChatConsumerTests(ChannelTestCase):
    fail_on_unread_messages = True  # every reply a test causes must be checked

    @classmethod
    def setUpTestData(cls):
        cls.alice = User.objects.create_user("alice")
        cls.bob = User.objects.create_user("bob", password="bob-password")

    def setUp(self):
        # Saving a Room sends a binding message, so rooms are made here, where
        # the test's in-memory layer is in place, not in setUpTestData.
        Room.objects.create(name="lobby", title="Lobby")
        Room.objects.create(name="random", title="Random")

    def browser(self, user=None, origin=ORIGIN):
        """Return a WSClient sending what a page of ``origin`` would, logged in as ``user``."""
        client = WSClient()
        client.set_header("origin", origin)
        if user is not None:
            client.force_login(user)
        return client

    def connect(self, user, room="lobby"):
        """Return a client of ``user`` connected to ``room`` (the test fails if it is refused)."""
        client = self.browser(user)
        client.send_and_consume("websocket.connect", path=f"/chat/{room}/")
        return client

    def say(self, client, content, room="lobby"):
        client.send_and_consume("websocket.receive", text=content, path=f"/chat/{room}/")

    def test_logged_in_user_is_accepted_into_the_room_group(self):
        client = self.connect(self.alice)
        self.assertIsNone(client.receive())  # send_and_consume checked the accept
        self.assertGroupMembers(LOBBY, [client.reply_channel])

    def test_anonymous_user_is_refused(self):
        client = self.browser()
        client.send_and_consume("websocket.connect", path="/chat/lobby/", check_accept=False)
        self.assertMessage(client.reply_channel, close=True)
        self.assertGroupMembers(LOBBY, [])

    def test_unknown_room_is_refused(self):
        client = self.browser(self.alice)
        client.send_and_consume("websocket.connect", path="/chat/nowhere/", check_accept=False)
        self.assertMessage(client.reply_channel, close=True)
        self.assertGroupMembers(Room.group_name("nowhere"), [])

    def test_socket_from_another_site_is_refused(self):
        client = self.browser(self.alice, origin="http://evil.example")
        # The test client lets DenyConnection through, as in Channels 1.x; a
        # worker turns it into the refusal the browser sees.
        with self.assertLogs("channels_test.security", "WARNING"):
            with self.assertRaises(DenyConnection):
                client.send_and_consume("websocket.connect", path="/chat/lobby/")
        self.assertNoMessages(client.reply_channel)
        # The interface server follows a refusal with a disconnect.
        client.send_and_consume("websocket.disconnect", {"code": 1006}, path="/chat/lobby/")
        self.assertGroupMembers(LOBBY, [])

    def test_users_in_a_room_get_each_others_messages(self):
        alice = self.connect(self.alice)
        bob = self.browser()
        bob.login(username="bob", password="bob-password")
        bob.send_and_consume("websocket.connect", path="/chat/lobby/")

        self.say(alice, {"message": "hello, bob"})
        self.say(bob, {"message": "hello, alice"})

        for client in (alice, bob):
            self.assertEqual(client.receive(), {"room": "lobby", "user": "alice", "message": "hello, bob"})
            self.assertEqual(client.receive(), {"room": "lobby", "user": "bob", "message": "hello, alice"})
            self.assertIsNone(client.receive())

    def test_rooms_are_isolated(self):
        alice = self.connect(self.alice, "lobby")
        bob = self.connect(self.bob, "random")
        self.say(alice, {"message": "anyone in the lobby?"})
        self.assertEqual(alice.receive()["message"], "anyone in the lobby?")
        self.assertIsNone(bob.receive())

    def test_bad_payload_gets_an_error_back_to_the_sender_only(self):
        alice = self.connect(self.alice)
        bob = self.connect(self.bob)
        bad_payloads = {
            "no message key": ({"text": "hi"}, 'Send an object with a "message" string'),
            "not an object": (["hi"], 'Send an object with a "message" string'),
            "message not a string": ({"message": 42}, 'Send an object with a "message" string'),
            "blank message": ({"message": "  "}, "The message is empty."),
            "too long": ({"message": "x" * (MAX_MESSAGE_LENGTH + 1)}, f"longer than {MAX_MESSAGE_LENGTH}"),
        }
        for case, (payload, error) in bad_payloads.items():
            with self.subTest(case):
                self.say(alice, payload)
                self.assertIn(error, alice.receive()["error"])
                self.assertIsNone(bob.receive())
        self.assertNoMessages()

    def test_text_that_is_not_json_is_logged_and_skipped(self):
        alice = self.connect(self.alice)
        with self.assertLogs("channels_test.generic.websockets", "ERROR") as logs:
            self.say(alice, "not json")  # a str is sent as it is, not JSON-encoded
        self.assertIn("could not decode a frame", logs.output[0])
        self.assertNoMessages()
        self.say(alice, {"message": "still here"})  # the socket stays usable
        self.assertEqual(alice.receive()["message"], "still here")

    def test_disconnect_leaves_the_room_group(self):
        alice = self.connect(self.alice)
        bob = self.connect(self.bob)
        self.assertGroupMembers(LOBBY, [alice.reply_channel, bob.reply_channel])

        alice.send_and_consume("websocket.disconnect", {"code": 1000}, path="/chat/lobby/")
        self.assertGroupMembers(LOBBY, [bob.reply_channel])
        self.say(bob, {"message": "bye, alice"})
        self.assertEqual(bob.receive()["message"], "bye, alice")
        self.assertIsNone(alice.receive())

    @apply_routes([ChatConsumer.as_route(path=r"^/(?P<room>\w+)$")])
    def test_consumer_works_wherever_it_is_routed(self):
        # apply_routes puts these routes in place of the project's for this test.
        alice = self.browser(self.alice)
        alice.send_and_consume("websocket.connect", path="/lobby")
        alice.send_and_consume("websocket.receive", text={"message": "hi"}, path="/lobby")
        self.assertEqual(alice.receive(), {"room": "lobby", "user": "alice", "message": "hi"})


class RoomListTests(ChannelTestCase):
    """RoomBinding tells the sockets on /chat/ about every change to a room."""

    fail_on_unread_messages = True

    def test_room_changes_reach_the_room_list(self):
        client = WSClient()
        client.send_and_consume("websocket.connect", path="/chat/")  # anonymous is fine here
        self.assertGroupMembers(ROOM_LIST_GROUP, [client.reply_channel])

        room = Room.objects.create(name="news", title="News")
        room.title = "Today's news"
        room.save()
        pk = room.pk
        room.delete()

        expected = [
            ("create", {"name": "news", "title": "News"}),
            ("update", {"name": "news", "title": "Today's news"}),
            ("delete", {"name": "news", "title": "Today's news"}),
        ]
        for action, data in expected:
            payload = {"action": action, "model": "chat.room", "pk": pk, "data": data}
            self.assertEqual(client.receive(), {"stream": "rooms", "payload": payload})
        self.assertIsNone(client.receive())
