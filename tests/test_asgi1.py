"""The ASGI 1 message format: the interface, the handler and the test clients share one definition."""

import warnings

from django.test import SimpleTestCase

from channels_test import asgi1
from channels_test.deprecation import ChannelsTestDeprecationWarning
from channels_test.generic.websockets import WebsocketConsumer
from channels_test.handler import AsgiRequest, MalformedMessage
from channels_test.interface import (
    InterfaceApplication,
    check_http_reply,
    check_websocket_reply,
)
from channels_test.interface.http import HttpConnection
from channels_test.interface.websocket import WebsocketConnection
from channels_test.layers.inmemory import InMemoryChannelLayer
from channels_test.message import Message
from channels_test.routing import route
from channels_test.test import ChannelTestCase, WSClient, apply_routes

WEBSOCKET_SCOPE = {
    "type": "websocket",
    "path": "/chat/",
    "query_string": b"room=1",
    "root_path": "",
    "headers": [(b"Host", b"example.com")],
    "client": ("10.0.0.1", 50000),
    "server": ("10.0.0.2", 443),
    "scheme": "wss",
}
HTTP_SCOPE = {
    "type": "http",
    "method": "POST",
    "path": "/app/form/",
    "query_string": b"a=1",
    "root_path": "/app",
    "headers": [(b"Content-Type", b"text/plain")],
    "client": ("10.0.0.1", 50000),
    "server": ("10.0.0.2", 80),
    "scheme": "https",
    "http_version": "2",
}
MALFORMED_HEADERS = [["host", "example.com"]]
HEADERS_PROBLEM = "'headers' item 0 must be a [name, value] pair of bytes"


def connection(kind, scope):
    """Return an interface connection for ``scope`` whose reply channel is named."""
    made = kind(InterfaceApplication(), scope, None, None)
    made.reply_channel = "websocket.send.x!y" if kind is WebsocketConnection else "http.response.x!y"
    return made


class Addresses(WebsocketConsumer):
    """Answer the connection with where it came from, as a consumer behind Daphne may."""

    def connect(self, message, **kwargs):
        self.message.reply_channel.send({"accept": True})
        client, server = message["client"], message["server"]
        self.send(text=f"{message['scheme']} {client[0]}:{client[1]} -> {server[0]}:{server[1]}")


class InterfaceMessageTests(SimpleTestCase):
    """What Daphne's traffic becomes, built by channels_test.asgi1."""

    def test_websocket_connect_from_a_scope(self):
        message = connection(WebsocketConnection, WEBSOCKET_SCOPE).connect_message()
        self.assertEqual(
            message,
            {
                "reply_channel": "websocket.send.x!y",
                "path": "/chat/",
                "order": 0,
                "headers": [[b"host", b"example.com"]],
                "query_string": b"room=1",
                "root_path": "",
                "scheme": "wss",
                "client": ["10.0.0.1", 50000],
                "server": ["10.0.0.2", 443],
            },
        )

    def test_http_request_from_a_scope_is_read_back_by_the_handler(self):
        message = connection(HttpConnection, HTTP_SCOPE).request_message(b"x=1")
        self.assertEqual(message["headers"], [[b"content-type", b"text/plain"]])
        self.assertEqual((message["client"], message["server"]), (["10.0.0.1", 50000], ["10.0.0.2", 80]))
        request = AsgiRequest(Message(message, "http.request", InMemoryChannelLayer()))
        self.assertEqual((request.method, request.path, request.path_info), ("POST", "/app/form/", "/form/"))
        self.assertEqual((request.scheme, request.META["REMOTE_ADDR"], request.body), ("https", "10.0.0.1", b"x=1"))

    def test_receive_and_disconnect(self):
        self.assertEqual(
            asgi1.websocket_receive("r!1", "/", 2, text="hi"),
            {"reply_channel": "r!1", "path": "/", "order": 2, "text": "hi"},
        )
        self.assertEqual(asgi1.websocket_receive("r!1", "/", 3)["bytes"], b"")
        self.assertEqual(asgi1.websocket_disconnect("r!1", "/", 4, 1001)["code"], 1001)
        self.assertEqual(
            asgi1.http_body_chunk(b"", more_content=False, closed=True),
            {"content": b"", "closed": True, "more_content": False},
        )


class SameWordsEverywhereTests(SimpleTestCase):
    """A malformed value is described with the same sentence by each part that meets it."""

    def test_malformed_headers(self):
        interface = check_http_reply({"status": 200, "headers": MALFORMED_HEADERS}, first=True)
        with self.assertRaises(MalformedMessage) as handler:
            AsgiRequest({"reply_channel": "r!1", "method": "GET", "path": "/", "headers": MALFORMED_HEADERS})
        with self.assertWarns(ChannelsTestDeprecationWarning) as client:
            WSClient().send("websocket.receive", {"headers": MALFORMED_HEADERS})
        self.assertIn(HEADERS_PROBLEM, interface)
        self.assertIn(HEADERS_PROBLEM, str(handler.exception))
        self.assertIn(HEADERS_PROBLEM, str(client.warning))
        self.assertEqual(client.filename, __file__, "the warning points at the test's send")

    def test_headers_that_are_not_a_list(self):
        problem = "'headers' must be a list of [name, value] byte pairs, not str: 'host'"
        self.assertEqual(check_http_reply({"status": 200, "headers": "host"}, first=True), problem)
        with self.assertRaisesMessage(MalformedMessage, problem):
            AsgiRequest({"reply_channel": "r!1", "method": "GET", "path": "/", "headers": "host"})

    def test_wellformed_headers_pass_everywhere(self):
        headers = [[b"host", b"example.com"]]
        self.assertIsNone(check_http_reply({"status": 200, "headers": headers}, first=True))
        with warnings.catch_warnings():
            warnings.simplefilter("error", ChannelsTestDeprecationWarning)
            AsgiRequest({"reply_channel": "r!1", "method": "GET", "path": "/", "headers": headers})
            WSClient().send("websocket.receive", {"headers": headers})
            WSClient().send("websocket.receive", {"headers": {"host": b"example.com"}})  # 1.x's shape

    def test_interface_checks_are_the_format_module_checks(self):
        self.assertIs(check_http_reply, asgi1.check_http_reply)
        self.assertIs(check_websocket_reply, asgi1.check_websocket_reply)


class WSClientMessageTests(ChannelTestCase):
    """What WSClient sends is what the interface sends, with Django's test addresses."""

    def test_connect_carries_the_keys_the_interface_sends(self):
        WSClient().send("websocket.connect", path="/chat/?room=1")
        sent = self.get_next_message("websocket.connect", require=True).content
        interface = connection(WebsocketConnection, WEBSOCKET_SCOPE).connect_message()
        self.assertEqual(set(sent), set(interface) - {"order"})
        self.assertEqual(
            (sent["client"], sent["server"], sent["scheme"], sent["root_path"], sent["query_string"]),
            (["127.0.0.1", 0], ["testserver", 80], "ws", "", b"room=1"),
        )

    def test_ordered_connect_is_the_interface_message_with_test_values(self):
        client = WSClient(ordered=True)
        client.send("websocket.connect")
        sent = self.get_next_message("websocket.connect", require=True).content
        self.assertEqual(
            sent,
            asgi1.websocket_connect(
                reply_channel=client.reply_channel,
                path="/",
                headers=sent["headers"],
                client=asgi1.TEST_CLIENT,
                server=asgi1.TEST_SERVER,
            ),
        )

    def test_content_wins_over_the_test_values(self):
        WSClient().send("websocket.connect", {"client": ["10.1.1.1", 4000], "scheme": "wss"})
        sent = self.get_next_message("websocket.connect", require=True).content
        self.assertEqual(
            (sent["client"], sent["scheme"], sent["server"]), (["10.1.1.1", 4000], "wss", ["testserver", 80])
        )

    def test_disconnect_carries_a_normal_close_code(self):
        client = WSClient()
        client.send("websocket.disconnect")
        client.send("websocket.disconnect", {"code": 1006})
        codes = [self.get_next_message("websocket.disconnect", require=True)["code"] for _ in range(2)]
        self.assertEqual(codes, [1000, 1006])

    def test_receive_gets_no_connect_keys(self):
        WSClient().send("websocket.receive", text="hi")
        sent = self.get_next_message("websocket.receive", require=True).content
        self.assertNotIn("client", sent)
        self.assertNotIn("scheme", sent)

    def test_get_content_keeps_the_1x_shape(self):
        message = WSClient()._get_content(path="/a/?b=1")
        self.assertIsInstance(message["headers"], dict)
        self.assertEqual(message["query_string"], "b=1")
        self.assertNotIn("client", message)

    def test_a_consumer_reading_the_addresses_works_in_tests(self):
        with apply_routes([Addresses.as_route(path=r"^/where/$")]):
            client = WSClient()
            client.send_and_consume("websocket.connect", path="/where/")
            self.assertEqual(client.receive_text(), "ws 127.0.0.1:0 -> testserver:80")

    def test_a_malformed_verdict_names_what_the_interface_would_refuse(self):
        def verdict(message):
            message.reply_channel.send({"accept": "yes"})

        with apply_routes([route("websocket.connect", verdict)]), self.assertRaises(AssertionError) as caught:
            WSClient().send_and_consume("websocket.connect")
        expected = check_websocket_reply({"accept": "yes"})
        self.assertIn(f"The interface would close the connection: {expected}.", str(caught.exception))
