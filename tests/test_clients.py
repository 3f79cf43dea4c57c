"""Client and WSClient: sending, consuming like a worker, replies, cookies, sessions, login."""

import inspect
import traceback
import warnings
from unittest import mock

from django.conf import settings
from django.contrib.auth.models import User
from django.http import HttpResponse, parse_cookie
from django.test import override_settings
from django.urls import path

from channels_test import Channel, Group
from channels_test.asgi import ChannelLayerWrapper, channel_layers
from channels_test.auth import channel_session_user_from_http, http_session_user
from channels_test.deprecation import ChannelsTestDeprecationWarning
from channels_test.exceptions import DenyConnection
from channels_test.generic.websockets import JsonWebsocketConsumer, WebsocketConsumer
from channels_test.layers.base import BaseChannelLayer
from channels_test.layers.inmemory import InMemoryChannelLayer
from channels_test.routing import route
from channels_test.sessions import http_session
from channels_test.signals import consumer_finished, consumer_started
from channels_test.test import ChannelTestCase, Client, WSClient, apply_routes


def reply_with_content(message):
    message.reply_channel.send({"got": message.content})


def ignore(message):
    pass


def send_then_reply(message):
    Channel("side").send({"value": message["value"]})
    message.reply_channel.send({"done": True})


class ConsumerBroke(Exception):
    pass


def send_then_raise(message):
    Channel("side").send({"value": 1})
    raise ConsumerBroke("the consumer broke")


def count_visits(request):
    request.session["count"] = request.session.get("count", 0) + 1
    return HttpResponse(str(request.session["count"]))


urlpatterns = [path("count/", count_visits)]


@http_session
def session_key_reporter(message):
    session = message.http_session
    message.reply_channel.send({"session_key": session.session_key if session else None})


@http_session_user
def whoami(message):
    message.reply_channel.send({"user": message.user.username or None})


class Echo(JsonWebsocketConsumer):
    def receive(self, content, **kwargs):
        self.send(content)


class Refuse(WebsocketConsumer):
    def connect(self, message, **kwargs):
        raise DenyConnection()


class RefuseByReply(WebsocketConsumer):
    def connect(self, message, **kwargs):
        message.reply_channel.send({"accept": False})


class CloseAtOnce(WebsocketConsumer):
    def connect(self, message, **kwargs):
        self.close()


@channel_session_user_from_http
def connect_user(message):
    message.reply_channel.send({"accept": True})
    Channel("connected").send({"user": message.user.username})


@apply_routes(
    [
        route("report", reply_with_content),
        route("side-effects", send_then_reply),
        route("broken", send_then_raise),
        route("session", session_key_reporter),
        route("whoami", whoami),
    ]
)
class ClientTests(ChannelTestCase):
    test_channel_aliases = ["default", "other"]

    def test_reply_channel_is_valid_and_unique(self):
        names = {Client().reply_channel for _ in range(50)}
        self.assertEqual(len(names), 50)
        for name in names:
            BaseChannelLayer().validate_channel_name(name)
            BaseChannelLayer().validate_channel_name(name, receive=True)
            self.assertTrue(name.startswith("test.reply."))

    def test_send_adds_the_reply_channel_and_copies_content(self):
        client = Client()
        content = {"value": 1}
        client.send("input", content)
        client.send("input")
        self.assertEqual(content, {"value": 1})
        self.assertEqual(self.get_next_message("input").content, {"value": 1, "reply_channel": client.reply_channel})
        self.assertEqual(self.get_next_message("input").content, {"reply_channel": client.reply_channel})

    def test_send_and_consume_then_receive(self):
        client = Client()
        client.send_and_consume("report", {"value": 1})
        self.assertEqual(client.receive(), {"got": {"value": 1, "reply_channel": client.reply_channel}})
        self.assertIsNone(client.receive())

    def test_send_and_consume_takes_what_waited_first(self):
        client = Client()
        client.send("report", {"value": 1})
        client.send_and_consume("report", {"value": 2})
        self.assertEqual(client.receive()["got"]["value"], 1)
        client.consume("report")
        self.assertEqual(client.receive()["got"]["value"], 2)

    def test_send_and_consume_calls_overridden_send_and_consume(self):
        calls = []

        class Logging(Client):
            def send(self, to, content=None):
                calls.append(("send", to))
                super().send(to, content)

        class LoggingWS(WSClient):
            def consume(self, channel, fail_on_none=True, check_accept=True):
                calls.append(("consume", channel))
                return super().consume(channel, fail_on_none, check_accept)

        Logging().send_and_consume("report", {"value": 1})
        LoggingWS().send_and_consume("report", {"value": 2})
        self.assertEqual(calls, [("send", "report"), ("consume", "report")])

    def test_send_and_consume_calls_send_and_consume_patched_on_the_client(self):
        for client in (Client(), WSClient()):
            with (
                mock.patch.object(client, "send", wraps=client.send) as send,
                mock.patch.object(client, "consume", wraps=client.consume) as consume,
            ):
                client.send_and_consume("report", {"value": 1})
            self.assertEqual(send.call_count, 1, client)
            self.assertEqual(consume.call_count, 1, client)
            self.assertEqual(client.receive()["got"]["value"], 1)

    def test_send_and_consume_on_a_layer_of_another_package(self):
        class SendAndReceiveOnly:
            """A layer with the ASGI 1 calls only (no send_and_receive)."""

            extensions = ["groups"]

            def __init__(self):
                self.layer = InMemoryChannelLayer()
                self.send, self.receive = self.layer.send, self.layer.receive
                self.group_add = self.layer.group_add

        wrapper = ChannelLayerWrapper(SendAndReceiveOnly(), "other", [route("report", reply_with_content)])
        previous = channel_layers.set("other", wrapper)
        self.addCleanup(channel_layers.set, "other", previous)
        client = Client(alias="other")
        client.send_and_consume("report", {"value": 1})
        self.assertEqual(client.receive()["got"]["value"], 1)

    def test_held_sends_go_out_after_the_consumer(self):
        client = Client()
        client.send_and_consume("side-effects", {"value": 7})
        self.assertEqual(self.get_next_message("side", require=True)["value"], 7)
        self.assertEqual(client.receive(), {"done": True})

    def test_consumer_exceptions_reach_the_test_with_their_traceback(self):
        client = Client()
        try:
            client.send_and_consume("broken")
        except ConsumerBroke as error:
            frames = [frame.name for frame in traceback.extract_tb(error.__traceback__)]
        else:
            self.fail("ConsumerBroke did not reach the test")
        self.assertEqual(frames[-1], "send_then_raise")
        self.assertIsNone(self.get_next_message("side"))  # a failed consumer's sends are dropped

    def test_consumer_signals_fire(self):
        fired = []

        def started(sender, **kwargs):
            fired.append(("started", sender))

        def finished(sender, **kwargs):
            fired.append(("finished", sender))

        consumer_started.connect(started)
        self.addCleanup(consumer_started.disconnect, started)
        consumer_finished.connect(finished)
        self.addCleanup(consumer_finished.disconnect, finished)
        Client().send_and_consume("report")
        self.assertEqual(fired, [("started", Client), ("finished", Client)])

    def test_consume_without_a_message_or_route(self):
        client = Client()
        Channel("elsewhere").send({})
        with self.assertRaisesMessage(
            AssertionError,
            "No message to consume on 'report' (layer 'default'); messages are waiting on: 'elsewhere' (1).",
        ):
            client.consume("report")
        client.consume("report", fail_on_none=False)
        client.send("unrouted", {"value": 1})
        with self.assertRaisesMessage(AssertionError, "No route matches the message on 'unrouted'"):
            client.consume("unrouted")
        client.send("unrouted", {"value": 1})
        client.consume("unrouted", fail_on_none=False)
        self.assertIsNone(self.get_next_message("unrouted"))

    def test_get_consumer_by_channel(self):
        client = Client()
        self.assertIs(client.get_consumer_by_channel("report"), reply_with_content)
        self.assertIsNone(client.get_consumer_by_channel("nothing-here"))

    def test_join_group(self):
        client = Client()
        client.join_group("watchers")
        self.assertGroupMembers("watchers", [client.reply_channel])
        Group("watchers").send({"value": 1})
        self.assertEqual(client.receive(), {"value": 1})

    def test_alias(self):
        client = Client(alias="other")
        client.send("input", {"value": 1})
        self.assertIsNone(self.get_next_message("input"))
        self.assertEqual(client.get_next_message("input", require=True)["value"], 1)
        client.join_group("g")
        self.assertGroupMembers("g", [client.reply_channel], alias="other")
        with apply_routes([route("report", reply_with_content)], aliases=["other"]):
            client.send_and_consume("report", {"value": 2})
        self.assertEqual(client.receive()["got"]["value"], 2)

    def test_content_must_be_a_dict(self):
        with self.assertRaisesMessage(TypeError, "content must be a dict, not list: [1]"):
            Client().send("report", [1])


@apply_routes(
    [
        Echo.as_route(path=r"^/echo/"),
        route("websocket.connect", Refuse, path=r"^/refuse/$"),
        route("websocket.connect", RefuseByReply, path=r"^/refuse-by-reply/$"),
        route("websocket.connect", CloseAtOnce, path=r"^/close/$"),
        route("websocket.connect", connect_user, path=r"^/user/$"),
        route("websocket.connect", reply_with_content, path=r"^/raw/$"),
        route("websocket.connect", ignore, path=r"^/silent/$"),
        route("websocket.receive", reply_with_content, path=r"^/raw/$"),
        route("session", session_key_reporter),
        route("whoami", whoami),
    ]
)
class WSClientTests(ChannelTestCase):
    def test_text_that_is_not_a_str_is_sent_as_json(self):
        client = WSClient()
        client.send("websocket.receive", text={"a": [1, 2]}, path="/raw/")
        client.send("websocket.receive", text="plain", path="/raw/")
        client.send("websocket.receive", content={"text": ["in", "content"]}, path="/raw/")
        self.assertEqual(self.get_next_message("websocket.receive")["text"], '{"a": [1, 2]}')
        self.assertEqual(self.get_next_message("websocket.receive")["text"], "plain")
        self.assertEqual(self.get_next_message("websocket.receive")["text"], '["in", "content"]')

    def test_receive_json_raw_and_other_frames(self):
        client = WSClient()
        client.send_and_consume("websocket.connect", path="/echo/")
        client.send_and_consume("websocket.receive", text={"n": 1}, path="/echo/")
        client.send_and_consume("websocket.receive", text={"n": 2}, path="/echo/")
        self.assertEqual(client.receive(), {"n": 1})
        self.assertEqual(client.receive(json=False), '{"n": 2}')
        Channel(client.reply_channel).send({"close": True})
        self.assertEqual(client.receive(), {"close": True})
        self.assertIsNone(client.receive())

    def test_typed_receives(self):
        client = WSClient()
        Channel(client.reply_channel).send({"text": '{"n": 1}'})
        Channel(client.reply_channel).send({"text": "hello"})
        self.assertEqual(client.receive_json(), {"n": 1})
        self.assertEqual(client.receive_text(), "hello")
        with self.assertRaisesMessage(AssertionError, "Expected a text frame on"):
            client.receive_text()
        Channel(client.reply_channel).send({"bytes": b"\x00"})
        with self.assertRaisesMessage(AssertionError, "found {'bytes': b'\\x00'}"):
            client.receive_json()
        Channel(client.reply_channel).send({"text": "not json"})
        with self.assertRaisesMessage(AssertionError, "is not JSON"):
            client.receive_json()

    def test_check_accept_fails_showing_what_came(self):
        client = WSClient()
        with self.assertRaisesMessage(
            AssertionError, "websocket.connect was not accepted: the consumer sent {'accept': False} on"
        ):
            client.send_and_consume("websocket.connect", path="/refuse-by-reply/")
        with self.assertRaisesMessage(AssertionError, "the consumer sent {'close': True} on"):
            client.send_and_consume("websocket.connect", path="/close/")
        with self.assertRaisesMessage(AssertionError, "the consumer sent nothing on"):
            client.send_and_consume("websocket.connect", path="/silent/")
        with self.assertRaisesMessage(AssertionError, "the consumer sent {'got': {"):
            client.send_and_consume("websocket.connect", path="/raw/")

    def test_check_accept_false_leaves_the_reply(self):
        client = WSClient()
        client.send_and_consume("websocket.connect", path="/close/", check_accept=False)
        self.assertEqual(client.receive(), {"close": True})
        client.send_and_consume("websocket.connect", path="/refuse-by-reply/", check_accept=False)
        self.assertEqual(client.receive(), {"accept": False})

    def test_deny_connection_reaches_the_test(self):
        # As in Channels 1.x, the test clients let DenyConnection through.
        client = WSClient()
        with self.assertRaises(DenyConnection):
            client.send_and_consume("websocket.connect", path="/refuse/")
        self.assertIsNone(client.receive())

    def test_path_and_query_string(self):
        client = WSClient()
        client.send("websocket.connect", path="/raw/?room=1&b=2")
        client.send("websocket.receive", path="/raw/?room=1")
        connect = self.get_next_message("websocket.connect")
        self.assertEqual((connect["path"], connect["query_string"]), ("/raw/", b"room=1&b=2"))
        receive = self.get_next_message("websocket.receive")
        self.assertEqual(receive["path"], "/raw/")
        self.assertNotIn("query_string", receive)
        client.send("websocket.connect")
        self.assertEqual(self.get_next_message("websocket.connect")["query_string"], b"")

    def test_path_passed_as_content(self):
        with self.assertRaisesMessage(TypeError, "content must be a dict; to set the path use path='/new'"):
            WSClient().send_and_consume("websocket.connect", "/new")
        with self.assertRaisesMessage(TypeError, "content must be a dict, not str: 'text'"):
            WSClient().send("websocket.receive", "text")

    def test_ordered(self):
        client = WSClient(ordered=True)
        for _ in range(3):
            client.send("websocket.receive", text="x")
        self.assertEqual([self.get_next_message("websocket.receive")["order"] for _ in range(3)], [0, 1, 2])
        with self.assertRaisesMessage(ValueError, "ordered=True"):
            client.send("websocket.receive", content={"order": 5})
        manual = WSClient()
        manual.send("websocket.receive", content={"order": 4})
        manual.send("websocket.receive")
        self.assertEqual(self.get_next_message("websocket.receive")["order"], 4)
        self.assertNotIn("order", self.get_next_message("websocket.receive"))

    def test_no_shared_default_content(self):
        client = WSClient(ordered=True)
        client.send("websocket.receive")
        client.send("websocket.receive")
        first = self.get_next_message("websocket.receive")
        second = self.get_next_message("websocket.receive")
        self.assertEqual((first["order"], second["order"]), (0, 1))
        for method in (WSClient.send, WSClient.send_and_consume, Client.send, Client.send_and_consume):
            for parameter in inspect.signature(method).parameters.values():
                self.assertNotIsInstance(parameter.default, (dict, list), f"{method.__qualname__}({parameter.name})")

    def test_headers_and_cookies(self):
        client = WSClient()
        client.set_header("Origin", "http://example.com")
        client.set_header("x-bytes", b"\x01")
        client.set_cookie("foo", "not-bar")
        client.set_cookie("foo", "bar")
        client.set_cookie("qux", "qu;x")
        client.send("websocket.connect")
        headers = dict(map(tuple, self.get_next_message("websocket.connect")["headers"]))
        self.assertEqual(headers[b"origin"], b"http://example.com")
        self.assertEqual(headers[b"x-bytes"], b"\x01")
        cookies = parse_cookie(headers[b"cookie"].decode("ascii"))
        self.assertEqual(cookies, client.get_cookies())
        self.assertEqual((cookies["foo"], cookies["qux"]), ("bar", "qu;x"))
        self.assertEqual(cookies[settings.SESSION_COOKIE_NAME], client.session.session_key)
        self.assertEqual(client.headers["origin"], b"http://example.com")

    def test_cookie_header_is_refused(self):
        with self.assertRaisesMessage(ValueError, "Set cookies with set_cookie(name, value)"):
            WSClient().set_header("Cookie", "a=b")

    def test_session_cookie_is_sent_and_session_is_real(self):
        client = WSClient()
        engine = __import__(settings.SESSION_ENGINE, fromlist=["SessionStore"])
        self.assertIsInstance(client.session, engine.SessionStore)
        client.send_and_consume("session")
        self.assertEqual(client.receive(), {"session_key": client.session.session_key})
        self.assertTrue(engine.SessionStore().exists(client.session.session_key))

    def test_session_is_saved_when_something_loads_it(self):
        from django.contrib.sessions.models import Session

        client = WSClient()
        client.send_and_consume("websocket.connect", path="/echo/")
        message_key = parse_cookie(dict(client._header_list())[b"cookie"].decode())[settings.SESSION_COOKIE_NAME]
        self.assertFalse(Session.objects.exists(), "a consumer that never loads it saves nothing")
        client.send_and_consume("session")
        self.assertEqual(client.receive(), {"session_key": message_key})
        self.assertTrue(Session.objects.filter(session_key=message_key).exists())

    def test_session_a_consumer_changes_is_the_clients(self):
        from django.contrib.sessions.models import Session

        @http_session
        def remember(message):
            message.http_session["visited"] = True

        client = WSClient()
        with apply_routes([route("remember", remember)]):
            client.send_and_consume("remember")
        key = client.session.session_key
        self.assertEqual(Session.objects.get(session_key=key).get_decoded(), {"visited": True})

    @override_settings(ROOT_URLCONF="tests.test_clients")
    def test_session_a_view_changes_is_the_clients(self):
        from django.contrib.sessions.models import Session

        from channels_test.handler import ViewConsumer

        client = WSClient()
        client.set_header("host", "testserver")
        with apply_routes([route("http.request", ViewConsumer())]):
            client.send_and_consume("http.request", {"method": "GET", "path": "/count/"}, path="/count/")
            client.send_and_consume("http.request", {"method": "GET", "path": "/count/"}, path="/count/")
        bodies = [client.receive()["content"] for _ in range(2)]
        self.assertEqual(bodies, [b"1", b"2"])
        key = client.get_cookies()[settings.SESSION_COOKIE_NAME]
        self.assertEqual(Session.objects.get(session_key=key).get_decoded(), {"count": 2})

    def test_session_is_saved_before_a_message_leaves_the_process(self):
        import tempfile

        from django.contrib.sessions.models import Session

        from channels_test.asgi import ChannelLayerWrapper, channel_layers
        from channels_test.layers.sqlite import SQLiteChannelLayer

        directory = tempfile.TemporaryDirectory()
        self.addCleanup(directory.cleanup)
        layer = SQLiteChannelLayer(path=f"{directory.name}/layer.sqlite3")
        self.addCleanup(layer.close)
        client = WSClient(alias="shared")
        previous = channel_layers.set("shared", ChannelLayerWrapper(layer, "shared", []))
        self.addCleanup(channel_layers.set, "shared", previous)
        client.send("websocket.connect", path="/echo/")
        _, message = layer.receive(["websocket.connect"])
        key = parse_cookie(dict(message["headers"])[b"cookie"].decode())[settings.SESSION_COOKIE_NAME]
        self.assertTrue(Session.objects.filter(session_key=key).exists(), "a worker elsewhere can load it")

    def test_reading_cookies_or_headers_saves_the_session(self):
        from django.contrib.sessions.models import Session

        cookies = WSClient().get_cookies()
        self.assertTrue(Session.objects.filter(session_key=cookies[settings.SESSION_COOKIE_NAME]).exists())
        cookies = parse_cookie(WSClient().headers["cookie"].decode())
        self.assertTrue(Session.objects.filter(session_key=cookies[settings.SESSION_COOKIE_NAME]).exists())

    @override_settings(SESSION_ENGINE="django.contrib.sessions.backends.signed_cookies")
    def test_session_in_a_cookie_engine(self):
        client = WSClient()
        client.session["rooms"] = ["a"]
        client.session.save()
        client.send("session")
        cookie = dict(map(tuple, self.get_next_message("session")["headers"]))[b"cookie"].decode()
        self.assertEqual(parse_cookie(cookie)[settings.SESSION_COOKIE_NAME], client.session.session_key)

    @override_settings(INSTALLED_APPS=[app for app in settings.INSTALLED_APPS if app != "django.contrib.sessions"])
    def test_without_sessions_no_session_cookie(self):
        client = WSClient()
        client.send("websocket.connect")
        self.assertEqual(self.get_next_message("websocket.connect")["headers"], [])
        with self.assertRaisesMessage(Exception, "needs 'django.contrib.sessions' in INSTALLED_APPS"):
            client.session

    def test_login_and_logout(self):
        User.objects.create_user(username="ann", password="secret")
        client = WSClient()
        self.assertFalse(client.login(username="ann", password="wrong"))
        client.send_and_consume("whoami")
        self.assertEqual(client.receive(), {"user": None})
        self.assertTrue(client.login(username="ann", password="secret"))
        client.send_and_consume("whoami")
        self.assertEqual(client.receive(), {"user": "ann"})
        client.logout()
        client.send_and_consume("whoami")
        self.assertEqual(client.receive(), {"user": None})

    def test_inactive_users_cannot_log_in(self):
        User.objects.create_user(username="ann", password="secret", is_active=False)
        self.assertFalse(WSClient().login(username="ann", password="secret"))

    def test_force_login(self):
        user = User.objects.create_user(username="bob")
        client = WSClient()
        client.force_login(user)
        self.assertEqual(user.backend, settings.AUTHENTICATION_BACKENDS[0])
        client.send_and_consume("websocket.connect", path="/user/")
        self.assertEqual(self.get_next_message("connected")["user"], "bob")

    @override_settings(
        AUTHENTICATION_BACKENDS=[
            "django.contrib.auth.backends.AllowAllUsersModelBackend",
            "django.contrib.auth.backends.ModelBackend",
        ]
    )
    def test_force_login_with_a_backend(self):
        user = User.objects.create_user(username="bob", is_active=False)
        client = WSClient()
        client.force_login(user, backend="django.contrib.auth.backends.AllowAllUsersModelBackend")
        client.send_and_consume("whoami")
        self.assertEqual(client.receive(), {"user": "bob"})

    def test_http_client_is_the_same_class_with_a_warning(self):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            from channels_test.test import HttpClient
        self.assertIs(HttpClient, WSClient)
        self.assertIn("use channels_test.test.WSClient", str(caught[0].message))
        self.assertIs(caught[0].category, ChannelsTestDeprecationWarning)
