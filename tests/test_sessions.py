"""channel_session, http_session, channel_and_http_session and enforce_ordering."""

import gc
from datetime import timedelta
from unittest import mock

from django.conf import settings
from django.contrib.sessions.backends.base import VALID_KEY_CHARS
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.core.exceptions import ImproperlyConfigured
from django.test import TestCase, override_settings
from django.utils import timezone

from channels_test import Channel
from channels_test.generic import BaseConsumer
from channels_test.generic.websockets import WebsocketConsumer
from channels_test.layers.inmemory import InMemoryChannelLayer
from channels_test.routing import route
from channels_test.sessions import (
    NEXT_ORDER_KEY,
    channel_and_http_session,
    channel_session,
    enforce_ordering,
    http_session,
    new_saved_session,
    new_unsaved_session,
    save_unsaved_session,
    session_for_reply_channel,
)
from tests.support.layers import REPLY, LayerMixin


@channel_session
def count_visits(message):
    message.channel_session["visits"] = message.channel_session.get("visits", 0) + 1
    Channel("result").send({"visits": message.channel_session["visits"]})


@http_session
def read_http(message):
    session = message.http_session
    Channel("result").send({"color": session.get("color") if session is not None else None})
    if session is not None:
        session["seen"] = True


@channel_and_http_session
def both(message):
    Channel("result").send({"color": message.http_session.get("color") if message.http_session else None})


@enforce_ordering
def ordered(message):
    Channel("result").send({"text": message["text"]})


def cookie_header(session_key):
    return [[b"cookie", f"{settings.SESSION_COOKIE_NAME}={session_key}".encode()]]


class ChannelSessionTests(LayerMixin, TestCase):
    def results(self):
        return self.replies("result")

    def test_session_persists_per_reply_channel(self):
        self.consume(count_visits, self.ws("websocket.receive", text="a"))
        self.consume(count_visits, self.ws("websocket.receive", text="b"))
        self.consume(count_visits, self.ws("websocket.receive", text="c", reply="websocket.send.other"))
        self.assertEqual(self.results(), [{"visits": 1}, {"visits": 2}, {"visits": 1}])
        self.assertEqual(session_for_reply_channel(REPLY)["visits"], 2)

    def test_session_key_is_stable_and_fits(self):
        key = session_for_reply_channel(REPLY).session_key
        self.assertEqual(key, session_for_reply_channel(REPLY).session_key)
        self.assertLessEqual(len(key), 32)

    def test_message_without_reply_channel_is_refused(self):
        with self.assertRaisesMessage(ValueError, "@channel_session needs a message with a 'reply_channel'"):
            self.consume(count_visits, self.message("some.channel", value=1))

    @override_settings(SESSION_ENGINE="django.contrib.sessions.backends.signed_cookies")
    def test_signed_cookie_engine_is_refused_with_the_fix(self):
        with self.assertRaisesMessage(ImproperlyConfigured, "django.contrib.sessions.backends.db"):
            self.consume(count_visits, self.ws("websocket.receive", text="a"))

    @override_settings(
        SESSION_ENGINE="django.contrib.sessions.backends.signed_cookies",
        CHANNEL_SESSION_ENGINE="django.contrib.sessions.backends.cache",
    )
    def test_channel_session_engine_setting_wins(self):
        self.consume(count_visits, self.ws("websocket.receive", text="a"))
        self.consume(count_visits, self.ws("websocket.receive", text="b"))
        self.assertEqual(self.results(), [{"visits": 1}, {"visits": 2}])


class HttpSessionTests(LayerMixin, TestCase):
    def setUp(self):
        super().setUp()
        self.session = SessionStore()
        self.session["color"] = "blue"
        self.session.save()

    def test_session_from_cookie_and_changes_are_saved(self):
        self.consume(read_http, self.ws("websocket.connect", headers=cookie_header(self.session.session_key)))
        self.assertEqual(self.replies("result"), [{"color": "blue"}])
        self.assertTrue(SessionStore(session_key=self.session.session_key)["seen"])

    def test_session_from_query_string(self):
        query = f"session_key={self.session.session_key}".encode()
        self.consume(read_http, self.ws("websocket.connect", query_string=query))
        self.assertEqual(self.replies("result"), [{"color": "blue"}])

    def test_no_cookie_means_none(self):
        self.consume(read_http, self.ws("websocket.connect"))
        self.assertEqual(self.replies("result"), [{"color": None}])

    def test_http_session_is_remembered_for_later_messages(self):
        self.consume(both, self.ws("websocket.connect", headers=cookie_header(self.session.session_key)))
        self.consume(both, self.ws("websocket.receive", text="no cookies here"))
        self.consume(both, self.ws("websocket.receive", text="x", reply="websocket.send.stranger"))
        self.assertEqual(self.replies("result"), [{"color": "blue"}, {"color": "blue"}, {"color": None}])


class OrderingTests(LayerMixin, TestCase):
    """Channels 1.x's scheme: early messages wait on a per-connection channel."""

    routing = [route("websocket.receive", ordered), route("websocket.connect", ordered)]

    def send(self, order, text):
        self.layer.send("websocket.receive", {"reply_channel": REPLY, "path": "/", "order": order, "text": text})

    def consume_next(self):
        channel, content = self.layer.receive(["websocket.receive"])
        self.assertIsNotNone(channel, "expected a message on 'websocket.receive'")
        self.handle(self.message(channel, **content))

    def texts(self):
        return [reply["text"] for reply in self.replies("result")]

    def test_early_message_waits_until_its_predecessor_is_handled(self):
        self.send(0, "1")
        self.send(2, "2")
        self.send(1, "3")
        self.consume_next()
        self.consume_next()
        self.assertEqual(self.waiting(), 1)
        self.consume_next()
        self.assertEqual(self.waiting(), 0)
        self.consume_next()
        self.assertEqual(self.texts(), ["1", "3", "2"])
        self.assertEqual(self.layer.message_counts(), {})

    def waiting(self):
        """Return how many messages wait on set-aside channels."""
        counts = self.layer.message_counts()
        return sum(count for name, count in counts.items() if name.startswith("__wait__."))

    def test_later_messages_wait_and_come_back_in_turn(self):
        for order, text in [(3, "d"), (2, "c"), (0, "a"), (1, "b")]:
            self.send(order, text)
        for _ in range(10):
            channel, content = self.layer.receive(["websocket.receive"])
            if channel is None:
                break
            self.handle(self.message(channel, **content))
        self.assertEqual(self.texts(), ["a", "b", "c", "d"])

    def test_connect_is_order_zero(self):
        self.send(1, "after connect")
        self.consume_next()
        self.assertEqual(self.texts(), [])
        self.handle(self.ws("websocket.connect", order=0, text="connect"))
        self.consume_next()
        self.assertEqual(self.texts(), ["connect", "after connect"])

    def test_duplicate_order_is_dropped_with_a_warning(self):
        self.send(0, "first")
        self.send(0, "again")
        self.consume_next()
        with self.assertLogs("channels_test.sessions", "WARNING") as logs:
            self.consume_next()
        self.assertIn("Dropping message 0 on 'websocket.receive'", logs.output[0])
        self.assertEqual(self.texts(), ["first"])
        self.assertEqual(self.layer.message_counts(), {})

    def test_missing_order_is_an_error(self):
        with self.assertRaisesMessage(ValueError, "'order'"):
            self.consume(ordered, self.ws("websocket.receive", text="x"))

    def test_slight_ordering_is_refused(self):
        with self.assertRaisesMessage(ValueError, "slight"):
            enforce_ordering(slight=True)


class PredecessorFinishesMeanwhile(InMemoryChannelLayer):
    """A layer on which, as an early message is set aside, another worker finishes
    the message before it (it stores the next expected order in the session)."""

    def send(self, channel, message):
        super().send(channel, message)
        if channel.startswith("__wait__."):
            session = session_for_reply_channel(message["reply_channel"])
            session[NEXT_ORDER_KEY] = message["order"]
            session.save()


class OrderingRaceTests(LayerMixin, TestCase):
    routing = [route("websocket.receive", ordered)]
    layer_class = PredecessorFinishesMeanwhile

    def test_message_set_aside_as_its_turn_comes_is_put_back(self):
        self.handle(self.ws("websocket.receive", order=1, text="early"))
        self.assertEqual(self.layer.message_counts(), {"websocket.receive": 1})
        channel, content = self.layer.receive(["websocket.receive"])
        self.handle(self.message(channel, **content))
        self.assertEqual(self.replies("result"), [{"text": "early"}])


class Visits(BaseConsumer):
    method_mapping = {"websocket.receive": "visit"}
    channel_session = True

    def visit(self, message, **kwargs):
        count_visits.__wrapped__(message)


class WhoIsThere(BaseConsumer):
    method_mapping = {"websocket.receive": "who"}
    channel_session_user = True

    def who(self, message, **kwargs):
        Channel("result").send({"anonymous": message.user.is_anonymous})


class InOrder(WebsocketConsumer):
    strict_ordering = True

    def receive(self, text=None, bytes=None, **kwargs):
        Channel("result").send({"text": text})


class DecoratedMethod(WebsocketConsumer):
    @channel_session
    def connect(self, message, **kwargs):
        message.channel_session["room"] = "blue"
        super().connect(message, **kwargs)

    @channel_session
    def disconnect(self, message, **kwargs):
        Channel("result").send({"room": message.channel_session["room"]})


class ConsumerSessionTests(LayerMixin, TestCase):
    def test_channel_session_on_a_method(self):
        self.consume(DecoratedMethod, self.ws("websocket.connect"))
        self.consume(DecoratedMethod, self.ws("websocket.disconnect"))
        self.assertEqual(self.replies(), [{"accept": True}])
        self.assertEqual(self.replies("result"), [{"room": "blue"}])

    def test_channel_session_needs_a_message(self):
        with self.assertRaisesMessage(TypeError, "must be a Message, not dict"):
            count_visits({"reply_channel": REPLY})

    def test_base_consumer_channel_session(self):
        self.consume(Visits, self.ws("websocket.receive", text="a"))
        self.consume(Visits, self.ws("websocket.receive", text="b"))
        self.assertEqual(self.replies("result"), [{"visits": 1}, {"visits": 2}])

    def test_base_consumer_channel_session_user(self):
        self.consume(WhoIsThere, self.ws("websocket.receive", text="a"))
        self.assertEqual(self.replies("result"), [{"anonymous": True}])

    def test_strict_ordering_consumer(self):
        self.use_routing([InOrder.as_route()])
        for order, text in [(2, "c"), (1, "b")]:
            self.layer.send("websocket.receive", {"reply_channel": REPLY, "path": "/", "order": order, "text": text})
        self.handle(self.ws("websocket.connect", order=0))
        for _ in range(5):
            channel, content = self.layer.receive(["websocket.receive"])
            if channel is None:
                break
            self.handle(self.message(channel, **content))
        self.assertEqual(self.replies(), [{"accept": True}])
        self.assertEqual(self.replies("result"), [{"text": "b"}, {"text": "c"}])


class ChannelSessionKeyTests(LayerMixin, TestCase):
    """A channel session's key cannot be worked out from the reply channel's name."""

    def setUp(self):
        super().setUp()
        from django.contrib.auth.models import User

        self.user = User.objects.create_user("ann", password="secret")
        self.client.force_login(self.user)
        self.cookie = self.client.cookies[settings.SESSION_COOKIE_NAME].value

    def user_with_cookie(self, session_key: str):
        from channels_test.auth import http_session_user

        @http_session_user
        def who(message):
            Channel("who").send({"user": message.user.username or None})

        self.consume(who, self.ws("websocket.connect", headers=cookie_header(session_key)))
        return self.replies("who")[-1]["user"]

    def test_1x_derivation_of_the_key_no_longer_works(self):
        import hashlib

        from channels_test.auth import channel_session_user_from_http

        @channel_session_user_from_http
        def connect(message):
            pass

        self.consume(connect, self.ws("websocket.connect", headers=cookie_header(self.cookie)))
        key = session_for_reply_channel(REPLY).session_key
        self.assertEqual(SessionStore(session_key=key).get("_auth_user_id"), str(self.user.pk))
        # The channel session works as a login cookie: its key must stay secret.
        self.assertEqual(self.user_with_cookie(key), "ann")
        derived = "chn" + hashlib.md5(REPLY.encode()).hexdigest()[:29]
        self.assertNotEqual(key, derived)
        self.assertFalse(SessionStore().exists(derived))
        self.assertIsNone(self.user_with_cookie(derived))

    def test_key_is_stable_per_channel_and_depends_on_the_secret(self):
        from channels_test.sessions import channel_session_key

        key = channel_session_key(REPLY)
        self.assertEqual(channel_session_key(REPLY), key)
        self.assertEqual(session_for_reply_channel(REPLY).session_key, key)
        self.assertRegex(key, r"^chn[0-9a-f]{29}$")
        self.assertNotEqual(channel_session_key(REPLY + "x"), key)
        with override_settings(SECRET_KEY="another secret entirely, for this test only"):
            self.assertNotEqual(channel_session_key(REPLY), key)


class SessionKeyQueryTests(LayerMixin, TestCase):
    """The 1.x ``?session_key=`` login, and the setting that turns it off."""

    def setUp(self):
        super().setUp()
        self.session = SessionStore()
        self.session["color"] = "blue"
        self.session.save()
        self.query = f"session_key={self.session.session_key}".encode()

    def colors(self):
        return [reply["color"] for reply in self.replies("result")]

    @override_settings(CHANNELS_SESSION_KEY_QUERY=True)
    def test_on(self):
        self.consume(read_http, self.ws("websocket.connect", query_string=self.query))
        self.consume(read_http, self.ws("websocket.connect", headers=cookie_header(self.session.session_key)))
        self.assertEqual(self.colors(), ["blue", "blue"])

    def test_on_by_default(self):
        self.assertFalse(hasattr(settings, "CHANNELS_SESSION_KEY_QUERY"))
        self.consume(read_http, self.ws("websocket.connect", query_string=self.query))
        self.assertEqual(self.colors(), ["blue"])

    @override_settings(CHANNELS_SESSION_KEY_QUERY=False)
    def test_off_ignores_the_parameter_but_not_the_cookie(self):
        self.consume(read_http, self.ws("websocket.connect", query_string=self.query))
        self.consume(read_http, self.ws("websocket.connect", headers=cookie_header(self.session.session_key)))
        self.consume(both, self.ws("websocket.connect", query_string=self.query))
        self.assertEqual(self.colors(), [None, "blue", None])

    @override_settings(CHANNELS_SESSION_KEY_QUERY=False)
    def test_off_logs_nobody_in(self):
        from django.contrib.auth.models import User

        from channels_test.auth import http_session_user

        self.client.force_login(User.objects.create_user("ann", password="secret"))
        query = f"session_key={self.client.cookies[settings.SESSION_COOKIE_NAME].value}".encode()

        @http_session_user
        def who(message):
            Channel("result").send({"color": message.user.username or None})

        self.consume(who, self.ws("websocket.connect", query_string=query))
        with override_settings(CHANNELS_SESSION_KEY_QUERY=True):
            self.consume(who, self.ws("websocket.connect", query_string=query))
        self.assertEqual(self.colors(), [None, "ann"])


class NewSavedSessionTests(TestCase):
    def test_the_session_is_saved_empty_under_a_key_of_djangos_shape(self):
        session = new_saved_session()
        self.assertEqual(len(session.session_key), 32)
        self.assertTrue(set(session.session_key) <= set(VALID_KEY_CHARS))
        self.assertTrue(SessionStore().exists(session.session_key))
        self.assertEqual(dict(SessionStore(session_key=session.session_key).load()), {})

    def test_each_session_has_a_key_of_its_own(self):
        self.assertNotEqual(new_saved_session().session_key, new_saved_session().session_key)

    def test_a_key_that_is_taken_is_never_reused(self):
        taken = new_saved_session()
        taken["owner"] = "someone else"
        taken.save()
        fresh_key = "f" * 32
        with mock.patch("channels_test.sessions._new_session_key", side_effect=[taken.session_key, fresh_key]):
            session = new_saved_session()
        self.assertEqual(session.session_key, fresh_key)
        self.assertEqual(SessionStore(session_key=taken.session_key).load(), {"owner": "someone else"})

    @override_settings(SESSION_ENGINE="django.contrib.sessions.backends.cache")
    def test_other_engines_save_it_too(self):
        from django.contrib.sessions.backends.cache import SessionStore as CacheStore

        session = new_saved_session()
        self.assertIsInstance(session, CacheStore)
        self.assertTrue(CacheStore().exists(session.session_key))


class NewUnsavedSessionTests(TestCase):
    def test_it_is_saved_on_first_load_only(self):
        session = new_unsaved_session()
        key = session.session_key
        self.assertEqual((len(key), set(key) <= set(VALID_KEY_CHARS)), (32, True))
        self.assertFalse(SessionStore().exists(key))
        save_unsaved_session(key)
        self.assertTrue(SessionStore().exists(key))
        session["seen"] = True
        session.save()
        save_unsaved_session(key)  # saved already: nothing happens
        self.assertEqual(SessionStore(session_key=key).load(), {"seen": True})

    def test_a_dropped_session_is_never_saved(self):
        key = new_unsaved_session().session_key
        gc.collect()
        save_unsaved_session(key)
        self.assertFalse(SessionStore().exists(key))

    def test_a_key_that_is_taken_keeps_its_session(self):
        session = new_unsaved_session()
        Session.objects.create(
            session_key=session.session_key,
            session_data=SessionStore().encode({"owner": "someone else"}),
            expire_date=timezone.now() + timedelta(days=1),
        )
        with self.assertLogs("channels_test.sessions", "WARNING") as logs:
            save_unsaved_session(session.session_key)
        self.assertIn("was taken already", logs.output[0])
        self.assertEqual(SessionStore(session_key=session.session_key).load(), {"owner": "someone else"})
