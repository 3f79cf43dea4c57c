"""Origin validation for WebSocket connections."""

from django.test import SimpleTestCase, override_settings

from channels_test import Channel, route
from channels_test.exceptions import DenyConnection
from channels_test.generic.websockets import WebsocketConsumer
from channels_test.message import Message
from channels_test.security.websockets import (
    AllowedHostsOnlyOriginValidator,
    BaseOriginValidator,
    allowed_hosts_only,
)
from channels_test.test import Client, apply_routes
from tests.support.layers import LayerMixin


@allowed_hosts_only
def connect(message):
    message.reply_channel.send({"accept": True})


class GuardedConsumer(WebsocketConsumer):
    @allowed_hosts_only
    def connect(self, message, **kwargs):
        message.reply_channel.send({"accept": True})


class OnlyHttps(BaseOriginValidator):
    """Channels 1.x's hook: validate_origin(message, origin) with the whole Origin."""

    def validate_origin(self, message, origin):
        return origin == "https://secure.example"


@override_settings(ALLOWED_HOSTS=[".example.com", "exact.org", "ported.net:8443", "[::1]"], DEBUG=False)
class OriginTests(LayerMixin, SimpleTestCase):
    def connect_from(self, origin, consumer=connect):
        headers = [[b"host", b"testserver"]]
        if origin is not None:
            headers.append([b"origin", origin.encode()])
        self.consume(consumer, self.ws("websocket.connect", headers=headers))
        return self.replies()

    def test_allowed_origins(self):
        for origin in [
            "https://example.com",
            "https://sub.example.com",
            "http://deep.sub.example.com:8000",
            "http://exact.org",
            "http://exact.org:1234",
            "https://ported.net:8443",
            "http://[::1]:8000",
        ]:
            with self.subTest(origin=origin):
                self.assertEqual(self.connect_from(origin), [{"accept": True}])

    def test_refused_origins(self):
        for origin in [
            "https://evil.com",
            "https://example.com.evil.com",
            "https://notexample.com",
            "https://ported.net",
            "https://ported.net:9999",
            "null",
            None,
        ]:
            with self.subTest(origin=origin), self.assertLogs("channels_test.security", "WARNING"):
                self.assertEqual(self.connect_from(origin), [{"accept": False}])

    def test_works_on_consumer_methods(self):
        self.assertEqual(self.connect_from("https://a.example.com", GuardedConsumer), [{"accept": True}])
        with self.assertLogs("channels_test.security", "WARNING"):
            self.assertEqual(self.connect_from("https://evil.com", GuardedConsumer), [{"accept": False}])

    def test_other_channels_pass_through(self):
        @allowed_hosts_only
        def receive(message):
            Channel("result").send({"ok": True})

        self.consume(receive, self.ws("websocket.receive", text="x"))
        self.assertEqual(self.replies("result"), [{"ok": True}])

    def test_custom_validator(self):
        self.assertEqual(self.connect_from("https://secure.example", OnlyHttps(connect.func)), [{"accept": True}])
        with self.assertLogs("channels_test.security", "WARNING"):
            self.assertEqual(self.connect_from("https://example.com", OnlyHttps(connect.func)), [{"accept": False}])

    @override_settings(ALLOWED_HOSTS=["*"])
    def test_star_allows_any_origin_but_not_none(self):
        for origin in ["https://anything.example", "http://10.1.2.3:8080"]:
            with self.subTest(origin=origin):
                self.assertEqual(self.connect_from(origin), [{"accept": True}])
        with self.assertLogs("channels_test.security", "WARNING") as logs:
            self.assertEqual(self.connect_from(None), [{"accept": False}])
        self.assertIn("no Origin header", logs.output[0])

    @override_settings(ALLOWED_HOSTS=["example.com"])
    def test_refusal_is_deny_connection_reaching_the_caller(self):
        # As in Channels 1.x: the decorator raises DenyConnection; a worker
        # turns it into the refusal, a direct call or a test client sees it.
        for origin in [b"http://example.org", b"", b"\xc3\xa4", None]:
            with self.subTest(origin=origin):
                headers = [[b"origin", origin]] if origin is not None else []
                with self.assertLogs("channels_test.security", "WARNING"):
                    with self.assertRaises(DenyConnection):
                        connect(Message({"headers": headers}, "websocket.connect", None))

    @override_settings(ALLOWED_HOSTS=["example.com"])
    def test_test_client_sees_deny_connection(self):
        with apply_routes([route("websocket.connect", connect)]):
            with self.assertLogs("channels_test.security", "WARNING"):
                with self.assertRaises(DenyConnection):
                    Client().send_and_consume("websocket.connect", {"headers": [[b"origin", b"http://example.org"]]})

    def test_alias(self):
        self.assertIs(allowed_hosts_only, AllowedHostsOnlyOriginValidator)

    @override_settings(ALLOWED_HOSTS=[], DEBUG=True)
    def test_debug_with_no_allowed_hosts_allows_localhost(self):
        self.assertEqual(self.connect_from("http://localhost:8000"), [{"accept": True}])
        with self.assertLogs("channels_test.security", "WARNING"):
            self.assertEqual(self.connect_from("http://example.com"), [{"accept": False}])
