"""Origin validation for WebSocket connections."""

from django.test import SimpleTestCase, override_settings

from channels_test import Channel
from channels_test.generic.websockets import WebsocketConsumer
from channels_test.security.websockets import (
    AllowedHostsOnlyOriginValidator,
    BaseOriginValidator,
    allowed_hosts_only,
)

from .test_generic import LayerMixin


@allowed_hosts_only
def connect(message):
    message.reply_channel.send({"accept": True})


class GuardedConsumer(WebsocketConsumer):
    @allowed_hosts_only
    def connect(self, message, **kwargs):
        message.reply_channel.send({"accept": True})


class OnlyHttps(BaseOriginValidator):
    def validate_origin(self, message, hostname, port=None):
        return hostname == "secure.example"


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
        self.assertEqual(self.connect_from("https://secure.example", OnlyHttps(connect.inner)), [{"accept": True}])
        with self.assertLogs("channels_test.security", "WARNING"):
            self.assertEqual(self.connect_from("https://example.com", OnlyHttps(connect.inner)), [{"accept": False}])

    @override_settings(ALLOWED_HOSTS=["*"])
    def test_star_allows_any_origin_but_not_none(self):
        for origin in ["https://anything.example", "http://10.1.2.3:8080"]:
            with self.subTest(origin=origin):
                self.assertEqual(self.connect_from(origin), [{"accept": True}])
        with self.assertLogs("channels_test.security", "WARNING") as logs:
            self.assertEqual(self.connect_from(None), [{"accept": False}])
        self.assertIn("no Origin header", logs.output[0])

    def test_alias(self):
        self.assertIs(allowed_hosts_only, AllowedHostsOnlyOriginValidator)

    @override_settings(ALLOWED_HOSTS=[], DEBUG=True)
    def test_debug_with_no_allowed_hosts_allows_localhost(self):
        self.assertEqual(self.connect_from("http://localhost:8000"), [{"accept": True}])
        with self.assertLogs("channels_test.security", "WARNING"):
            self.assertEqual(self.connect_from("http://example.com"), [{"accept": False}])
