"""Channels 1.x behaviours that 1.x code and tests rely on, one test class per behaviour."""

import importlib
import logging
import sys
import warnings
from unittest import mock

from django.contrib.auth.models import User
from django.core.exceptions import ImproperlyConfigured
from django.test import SimpleTestCase, TestCase, override_settings

from channels_test import DEFAULT_CHANNEL_LAYER, Channel, route, route_class
from channels_test.asgi import InvalidChannelLayerError, channel_layers
from channels_test.deprecation import ChannelsTestDeprecationWarning
from channels_test.generic.websockets import JsonWebsocketConsumer, WebsocketConsumer
from channels_test.message import Message
from channels_test.routing import Router, connect_consumer
from channels_test.sessions import (
    channel_session,
    http_session,
    session_for_reply_channel,
)
from channels_test.test import ChannelTestCase, Client, WSClient, apply_routes
from channels_test.worker import Worker


def echo_count(message):
    return message.content.get("n", 0) + 1


class Counter(WebsocketConsumer):
    def receive(self, text=None, bytes=None, **kwargs):
        self.got = text


class HandBuiltMessageTests(ChannelTestCase):
    """1.x tests build Message(content, None, None) to call decorated consumers directly."""

    def test_none_name_and_layer(self):
        message = Message({"reply_channel": "test-reply"}, None, None)
        self.assertIsNone(message.channel.name)
        self.assertIs(message.channel_layer, channel_layers[DEFAULT_CHANNEL_LAYER])
        self.assertIs(message.reply_channel.channel_layer, channel_layers[DEFAULT_CHANNEL_LAYER])
        self.assertIsNone(Channel(None).name)

    def test_sending_to_a_none_channel_is_still_refused(self):
        with self.assertRaisesRegex(TypeError, "Channel name must be a str, not NoneType"):
            Channel(None).send({"a": 1})

    def test_decorated_consumer_runs_on_a_hand_built_message(self):
        @channel_session
        def consumer(message):
            message.channel_session["ponies"] = 3

        consumer(Message({"reply_channel": "test-reply"}, None, None))
        self.assertEqual(session_for_reply_channel("test-reply")["ponies"], 3)


@override_settings(SESSION_ENGINE="django.contrib.sessions.backends.db")
class DictHeadersTests(TestCase):
    """http_session finds the cookie in dict headers too, as 1.x did."""

    def test_http_session_from_dict_headers(self):
        session = session_for_reply_channel("test-reply")
        session["seen"] = True
        session.save(must_create=True)

        @http_session
        def consumer(message):
            return message.http_session

        found = consumer(
            Message(
                {
                    "reply_channel": "test-reply",
                    "path": "/",
                    "headers": {"host": b"example.com", "cookie": f"sessionid={session.session_key}".encode()},
                },
                None,
                None,
            )
        )
        self.assertEqual(found.session_key, session.session_key)
        self.assertTrue(found["seen"])


class ConsumeReturnsTests(ChannelTestCase):
    """consume() and send_and_consume() return what the consumer returned."""

    def test_function_consumer(self):
        with apply_routes([route("count", echo_count)]):
            client = Client()
            self.assertEqual(client.send_and_consume("count", {"n": 41}), 42)
            client.send("count", {"n": 1})
            self.assertEqual(client.consume("count"), 2)

    def test_class_consumer_returns_its_instance(self):
        with apply_routes([route_class(Counter)]):
            consumer = WSClient().send_and_consume("websocket.receive", text="hi")
        self.assertIsInstance(consumer, Counter)
        self.assertEqual(consumer.got, "hi")

    def test_nothing_to_consume_returns_none(self):
        self.assertIsNone(Client().consume("empty", fail_on_none=False))


class UnroutedMessagesTests(ChannelTestCase):
    """In tests, a message no route takes fails the test, as in 1.x (no defaults)."""

    def test_unrouted_connect_fails_the_test(self):
        with apply_routes([]):
            with self.assertRaisesRegex(AssertionError, "No route matches the message on 'websocket.connect'"):
                WSClient().send_and_consume("websocket.connect")

    def test_check_default_brings_the_defaults_back(self):
        with apply_routes([]):
            channel_layers[DEFAULT_CHANNEL_LAYER].router.check_default()
            WSClient().send_and_consume("websocket.connect")  # accepted by connect_consumer
        self.assertIs(Router([]).match(Message({}, "websocket.connect", None)), None)
        self.assertTrue(callable(connect_consumer))


class CaptiveCapacityTests(ChannelTestCase):
    """Captive layers hold 10 messages per channel, as asgiref's in-memory layer did in 1.x."""

    def test_eleventh_send_is_full(self):
        for number in range(10):
            Channel("input").send({"n": number})
        with self.assertRaises(channel_layers[DEFAULT_CHANNEL_LAYER].ChannelFull):
            Channel("input").send({"n": 10})


@override_settings(
    CHANNEL_LAYERS={
        "default": {
            "BACKEND": "channels_test.layers.inmemory.InMemoryChannelLayer",
            "ROUTING": [],
            "TEST_CONFIG": {"capacity": 50},
        }
    }
)
class ConfiguredCaptiveCapacityTests(ChannelTestCase):
    def test_test_config_capacity_wins(self):
        for number in range(50):
            Channel("input").send({"n": number})
        with self.assertRaises(channel_layers[DEFAULT_CHANNEL_LAYER].ChannelFull):
            Channel("input").send({"n": 50})


class ConfigurationErrorTests(SimpleTestCase):
    """Mistakes 1.x reported as ValueError are ValueError and ImproperlyConfigured."""

    def assertBoth(self, raised):
        self.assertIsInstance(raised.exception, ValueError)
        self.assertIsInstance(raised.exception, ImproperlyConfigured)

    def test_unnamed_groups_in_a_route(self):
        with self.assertRaises(ValueError) as raised:
            route("a", echo_count, path=r"^/(\d+)/$")
        self.assertBoth(raised)

    def test_route_class_without_channel_names(self):
        with self.assertRaises(ValueError) as raised:
            route_class(echo_count)
        self.assertBoth(raised)

    def test_binding_without_fields(self):
        from channels_test.binding.websockets import WebsocketBinding

        with self.assertRaises(ValueError) as raised:
            type("NoFields", (WebsocketBinding,), {"model": User, "stream": "s", "__module__": __name__})
        self.assertBoth(raised)

    @override_settings(CHANNEL_LAYERS={"default": {"ROUTING": []}})
    def test_channel_layer_without_backend(self):
        with self.assertRaises(InvalidChannelLayerError) as raised:
            channel_layers.make_backend("default")
        self.assertBoth(raised)

    def test_no_test_config(self):
        with self.assertRaises(InvalidChannelLayerError) as raised:
            channel_layers.make_test_backend(DEFAULT_CHANNEL_LAYER)
        self.assertBoth(raised)


class ChannelSessionWithoutMessageTests(SimpleTestCase):
    def test_error_says_what_1x_said(self):
        @channel_session
        def consumer(not_a_message):
            pass

        with self.assertRaisesRegex(ValueError, "called without Message instance"):
            consumer("text")
        with self.assertRaises(TypeError):
            consumer("text")


class WSClientReceiveTests(ChannelTestCase):
    """receive(json=True) decodes text only when it is a str, as in 1.x."""

    def test_shapes(self):
        client = WSClient()
        reply = Channel(client.reply_channel)
        reply.send({"text": '{"a": 1}'})
        self.assertEqual(client.receive(), {"a": 1})
        reply.send({"text": {"already": "a dict"}})
        self.assertEqual(client.receive(), {"already": "a dict"})
        reply.send({"text": '{"a": 1}'})
        self.assertEqual(client.receive(json=False), '{"a": 1}')
        reply.send({"close": True})
        self.assertEqual(client.receive(), {"close": True})
        self.assertIsNone(client.receive())

    def test_get_content_builds_a_1x_message(self):
        client = WSClient(ordered=True)
        content = client._get_content(text={"k": "v"}, path="/my/path?a=1")
        self.assertEqual((content["path"], content["query_string"]), ("/my/path", "a=1"))
        self.assertEqual(content["text"], '{"k": "v"}')
        self.assertIn(b"sessionid", content["headers"]["cookie"])
        self.assertEqual(content["order"], 0)


class NonStrTextTests(ChannelTestCase):
    """send(text=<not a str>) is passed through with a warning, as 1.x passed it."""

    def test_warns_and_sends(self):
        class Sender(WebsocketConsumer):
            def receive(self, text=None, bytes=None, **kwargs):
                self.send(text={"not": "encoded"})
                self.group_send("watchers", text=5)

        client = WSClient()
        client.join_group("watchers")
        with apply_routes([route_class(Sender)]):
            with self.assertWarnsRegex(ChannelsTestDeprecationWarning, r"takes a str, not dict"):
                client.send_and_consume("websocket.receive", text="go")
        self.assertEqual(client.receive(), {"not": "encoded"})
        self.assertEqual(client.receive(), 5)


class HttpUserOnEveryMessageTests(ChannelTestCase):
    """http_user brings an HTTP login made after the socket opened to the connection."""

    def test_login_after_connect_reaches_the_connection(self):
        class WhoAmI(JsonWebsocketConsumer):
            http_user = True

            def receive(self, content, **kwargs):
                self.send({"user": self.message.user.username or None})

        User.objects.create_user("ann", password="secret")
        client = WSClient()
        with apply_routes([route_class(WhoAmI)]):
            client.send_and_consume("websocket.connect")
            client.send_and_consume("websocket.receive", text={})
            self.assertEqual(client.receive(), {"user": None})
            self.assertTrue(client.login(username="ann", password="secret"))
            client.send_and_consume("websocket.receive", text={})
            self.assertEqual(client.receive(), {"user": "ann"})


class ReplyConsumer(WebsocketConsumer):
    def receive(self, text=None, bytes=None, **kwargs):
        self.send(text=text)


class ReplacedLayerCallsTests(ChannelTestCase):
    """A test that replaces the layer's send (mock.patch) sees every send, as in 1.x.

    The one-step ``send_and_consume`` and the encoded held sends stand in for
    ``send`` only while it is the layer's own.
    """

    def setUp(self):
        super().setUp()
        routes = apply_routes([route_class(ReplyConsumer)])
        routes.__enter__()
        self.addCleanup(routes.__exit__, None, None, None)
        self.wrapper = channel_layers[DEFAULT_CHANNEL_LAYER]

    def echo(self, client: WSClient) -> None:
        client.send_and_consume("websocket.receive", text={"n": 1})

    def test_a_send_replaced_on_the_layer_class_sees_every_send(self):
        client = WSClient()
        client.send_and_consume("websocket.connect")
        layer_class = type(self.wrapper.channel_layer)
        with mock.patch.object(layer_class, "send", autospec=True, side_effect=layer_class.send) as send:
            self.echo(client)
        self.assertEqual([call.args[1] for call in send.call_args_list], ["websocket.receive", client.reply_channel])
        self.assertEqual(client.receive(), {"n": 1})

    def test_a_send_replaced_on_the_layer_or_its_wrapper_sees_every_send(self):
        for target in (self.wrapper.channel_layer, self.wrapper):
            with self.subTest(target=target):
                client = WSClient()
                client.send_and_consume("websocket.connect")
                with mock.patch.object(target, "send", wraps=target.send) as send:
                    self.echo(client)
                sent_to = [call.args[0] for call in send.call_args_list]
                self.assertEqual(sent_to, ["websocket.receive", client.reply_channel])
                self.assertEqual(client.receive(), {"n": 1})

    def test_a_send_replaced_on_the_wrapper_stays_through_a_patch_of_the_layer(self):
        layer = self.wrapper.channel_layer
        with mock.patch.object(self.wrapper, "send") as wrapper_send:
            with mock.patch.object(type(layer), "receive", autospec=True, side_effect=type(layer).receive):
                Channel("somewhere").send({"n": 1})
            Channel("somewhere").send({"n": 2})
        self.assertEqual([call.args[1] for call in wrapper_send.call_args_list], [{"n": 1}, {"n": 2}])
        self.assertTrue(self.wrapper._plain)

    def test_a_replaced_send_can_refuse(self):
        layer = self.wrapper.channel_layer
        with mock.patch.object(layer, "send", side_effect=layer.ChannelFull("full")):
            with self.assertRaises(layer.ChannelFull):
                Channel("somewhere").send({"n": 1})
            with self.assertRaises(layer.ChannelFull):
                WSClient().send_and_consume("websocket.connect")

    def test_a_subclass_send_is_called_for_held_sends(self):
        sent = []

        class Recording(type(self.wrapper.channel_layer)):
            def send(self, channel, message):
                sent.append(channel)
                super().send(channel, message)

        self.addCleanup(setattr, self.wrapper, "channel_layer", self.wrapper.channel_layer)
        self.wrapper.channel_layer = Recording()
        client = WSClient()
        client.send_and_consume("websocket.connect")
        self.echo(client)
        self.assertEqual(sent, ["websocket.connect", client.reply_channel, "websocket.receive", client.reply_channel])
        self.assertEqual(client.receive(), {"n": 1})

    def test_the_short_cuts_come_back_when_the_patch_ends(self):
        layer = self.wrapper.channel_layer
        for target in (layer, type(layer), self.wrapper):
            with self.subTest(target=target):
                with mock.patch.object(target, "send"):
                    self.assertFalse(self.wrapper._plain)
                self.assertTrue(self.wrapper._plain)
                self.assertTrue(layer._one_step)
                client = WSClient()
                client.send_and_consume("websocket.connect")
                self.echo(client)
                self.assertEqual(client.receive(), {"n": 1})


class WorkerFilterOrderTests(SimpleTestCase):
    def test_filters_keep_the_input_order(self):
        worker = Worker(None, only_channels=["yes.*", "maybe.*"])
        self.assertEqual(worker.apply_channel_filters(["yes.1", "no.1", "maybe.2", "yes"]), ["yes.1", "maybe.2"])
        worker = Worker(None, exclude_channels=["no.*"])
        self.assertEqual(worker.apply_channel_filters(["z", "no.1", "a"]), ["z", "a"])

    def test_termed_is_a_plain_attribute(self):
        worker = Worker(None)
        self.assertFalse(worker.termed)
        worker.termed = True
        self.assertTrue(worker.termed)
        worker.stop()
        self.assertTrue(worker.termed)


class ModulePathsTests(SimpleTestCase):
    """The modules and names 1.x code imports exist."""

    def fresh_import(self, name):
        sys.modules.pop(name, None)
        return importlib.import_module(name)

    def test_tests_package_warns_and_is_the_test_package(self):
        with self.assertWarnsRegex(ChannelsTestDeprecationWarning, "channels_test.tests is deprecated"):
            tests = self.fresh_import("channels_test.tests")
        self.assertIs(tests.ChannelTestCase, ChannelTestCase)
        self.assertIs(tests.WSClient, WSClient)

    def test_test_submodules(self):
        from channels_test.test import ChannelLiveServerTestCase
        from channels_test.test.base import ChannelTestCase as BaseChannelTestCase
        from channels_test.test.liveserver import ChannelLiveServerTestCase as Live
        from channels_test.test.websocket import WSClient as WebSocketClient

        self.assertIs(BaseChannelTestCase, ChannelTestCase)
        self.assertIs(WebSocketClient, WSClient)
        self.assertIs(Live, ChannelLiveServerTestCase)
        with self.assertWarnsRegex(ChannelsTestDeprecationWarning, "HttpClient is deprecated"):
            http = self.fresh_import("channels_test.test.http")
        self.assertIs(http.HttpClient, WSClient)

    def test_name_that_thing(self):
        from channels_test.utils import name_that_thing

        self.assertEqual(name_that_thing(echo_count), "tests.test_fidelity.echo_count")
        self.assertEqual(name_that_thing(Counter), "tests.test_fidelity.Counter")
        self.assertEqual(name_that_thing(Counter.__new__(Counter)), "tests.test_fidelity.Counter")
        self.assertEqual(name_that_thing(Worker(None).stop), "channels_test.worker.Worker.stop")
        self.assertEqual(name_that_thing(42), "42")

    def test_log_setup_logger(self):
        from channels_test import log

        logger = log.setup_logger("tests.fidelity.log", 2)
        self.addCleanup(logger.removeHandler, log.handler)
        self.assertIn(log.handler, logger.handlers)
        self.assertEqual(logger.level, logging.DEBUG)
        self.assertFalse(logger.propagate)
        self.assertEqual(log.setup_logger("tests.fidelity.log", 1).level, logging.INFO)
        self.assertEqual(logger.handlers.count(log.handler), 1)

    def test_worker_errors_reach_the_1x_logger(self):
        class Layer:
            router = Router([route("boom", lambda message: 1 / 0)])

        with self.assertLogs("django.channels", "ERROR") as logs:
            Worker(Layer()).handle("boom", {})
        self.assertIn("ZeroDivisionError", "\n".join(logs.output))

    def test_http_module_warning_is_our_category(self):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            self.fresh_import("channels_test.test.http")
        self.assertTrue(all(issubclass(w.category, DeprecationWarning) for w in caught))
