"""Users in consumers: from the HTTP session, carried in the channel session."""

import json

from django.conf import settings
from django.contrib.auth.models import User
from django.test import TestCase

from channels_test import Channel, Group
from channels_test.auth import (
    channel_and_http_session_user_from_http,
    channel_session_user,
    channel_session_user_from_http,
    http_session_user,
)
from channels_test.generic.websockets import JsonWebsocketConsumer
from tests.support.layers import REPLY, LayerMixin


def report(message):
    user = message.user
    Channel("result").send({"user": user.username if user.is_authenticated else None})


@http_session_user
def from_http(message):
    report(message)


@channel_session_user_from_http
def connect(message):
    report(message)


@channel_session_user
def receive(message):
    report(message)


@channel_and_http_session_user_from_http
def connect_keeping_http(message):
    report(message)


class RoomConsumer(JsonWebsocketConsumer):
    """The reference document's example consumer."""

    http_user = True
    groups = ["rooms_watchers"]

    def receive(self, content, **kwargs):
        self.send({"rooms": self.message.http_session.get("rooms", [])})
        Channel("rooms_receive").send({"user": self.message.user.id, "message": content["message"]})


class AuthTests(LayerMixin, TestCase):
    def setUp(self):
        super().setUp()
        self.user = User.objects.create_user("ann", password="secret")
        self.client.force_login(self.user)

    def headers(self):
        key = self.client.cookies[settings.SESSION_COOKIE_NAME].value
        return [[b"cookie", f"{settings.SESSION_COOKIE_NAME}={key}".encode()]]

    def users(self):
        return [reply["user"] for reply in self.replies("result")]

    def test_http_session_user(self):
        self.consume(from_http, self.ws("websocket.connect", headers=self.headers()))
        self.consume(from_http, self.ws("websocket.connect"))
        self.assertEqual(self.users(), ["ann", None])

    def test_user_carried_from_connect_to_later_messages(self):
        self.consume(connect, self.ws("websocket.connect", headers=self.headers()))
        self.consume(receive, self.ws("websocket.receive", text="x"))
        self.consume(receive, self.ws("websocket.receive", text="x", reply="websocket.send.stranger"))
        self.assertEqual(self.users(), ["ann", "ann", None])

    def test_logout_is_seen_on_next_connect(self):
        headers = self.headers()
        self.consume(connect, self.ws("websocket.connect", headers=headers))
        self.client.logout()
        self.consume(connect, self.ws("websocket.connect", headers=headers))
        self.consume(receive, self.ws("websocket.receive", text="x"))
        self.assertEqual(self.users(), ["ann", None, None])

    def test_connect_without_cookie_forgets_a_previous_login(self):
        self.consume(connect, self.ws("websocket.connect", headers=self.headers()))
        self.consume(connect, self.ws("websocket.connect"))
        self.consume(receive, self.ws("websocket.receive", text="x"))
        self.assertEqual(self.users(), ["ann", None, None])

    def test_channel_and_http_session_user(self):
        self.consume(connect_keeping_http, self.ws("websocket.connect", headers=self.headers()))
        self.assertEqual(self.users(), ["ann"])

    def test_http_user_consumer_sees_logout_on_next_connect(self):
        class WhoAmI(JsonWebsocketConsumer):
            http_user = True

            def receive(self, content, **kwargs):
                report(self.message)

        headers = self.headers()
        self.consume(WhoAmI, self.ws("websocket.connect", headers=headers))
        self.consume(WhoAmI, self.ws("websocket.receive", text="{}"))
        self.client.logout()
        self.consume(WhoAmI, self.ws("websocket.connect"))
        self.consume(WhoAmI, self.ws("websocket.receive", text="{}"))
        self.assertEqual(self.users(), ["ann", None])

    def test_http_user_and_session_consumer(self):
        class Profile(JsonWebsocketConsumer):
            http_user_and_session = True

            def receive(self, content, **kwargs):
                report(self.message)
                self.send({"color": self.message.http_session.get("color")})

        session = self.client.session
        session["color"] = "green"
        session.save()
        self.consume(Profile, self.ws("websocket.connect", headers=self.headers()))
        self.consume(Profile, self.ws("websocket.receive", text="{}"))
        self.assertEqual(self.users(), ["ann"])
        self.assertEqual(self.replies(), [{"accept": True}, {"text": '{"color": "green"}'}])

    def test_reference_room_consumer(self):
        self.consume(RoomConsumer, self.ws("websocket.connect", path="/rooms/", headers=self.headers()))
        self.assertEqual(self.replies(), [{"accept": True}])
        Group("rooms_watchers").send({"text": "ok"}, immediately=True)
        self.assertEqual(self.replies(), [{"text": "ok"}])
        session = self.client.session
        session["rooms"] = ["test", "1"]
        session.save()
        # As in Channels 1.x, http_user reads the HTTP session from the message's cookie, which
        # WSClient sends with every message.
        self.consume(
            RoomConsumer,
            self.ws("websocket.receive", path="/rooms/", text=json.dumps({"message": "hey"}), headers=self.headers()),
        )
        self.assertEqual([json.loads(r["text"]) for r in self.replies()], [{"rooms": ["test", "1"]}])
        self.assertEqual(self.replies("rooms_receive"), [{"user": self.user.id, "message": "hey"}])
        self.assertEqual(self.replies(REPLY), [])
