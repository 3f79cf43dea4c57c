"""AsgiRequest, AsgiHandler and ViewConsumer over real ``http.request`` messages."""

import asyncio
import io
import warnings

from asgiref.testing import ApplicationCommunicator
from django.core import signals
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import FileResponse, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.test import SimpleTestCase, override_settings
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart
from django.urls import path

from channels_test.asgi import ChannelLayerWrapper, channel_layers
from channels_test.deprecation import ChannelsTestDeprecationWarning
from channels_test.exceptions import RequestTimeout, ResponseLater
from channels_test.handler import AsgiHandler, AsgiRequest, MalformedMessage, ViewConsumer
from channels_test.interface import check_http_reply
from channels_test.layers.inmemory import InMemoryChannelLayer
from channels_test.message import Message
from channels_test.worker import run_consumer
from tests.support.interface import InProcessTestCase


def hello(request):
    return HttpResponse(f"hello {request.GET.get('name', 'nobody')} at {request.path_info}")


def boom(request):
    raise RuntimeError("the view failed")


def echo_post(request):
    files = {name: upload.read().decode() for name, upload in request.FILES.items()}
    return HttpResponse(repr((sorted(request.POST.items()), files)))


def stream(request):
    return StreamingHttpResponse(iter([b"one", b"two", b"three"]))


def big(request):
    return HttpResponse(b"x" * 25)


def later(request):
    raise ResponseLater()


def later_by_alias(request):
    raise AsgiRequest.ResponseLater()


def redirect(request):
    return HttpResponseRedirect("/hello/")


def empty_stream(request):
    return StreamingHttpResponse(iter([]), status=204)


def big_file(request):
    return FileResponse(io.BytesIO(b"f" * (600 * 1024)))


class AnswerEveryException:
    """Middleware whose ``process_exception`` turns any exception into a reply."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        return HttpResponse(f"caught {type(exception).__name__}", status=500)


def cookie(request):
    response = HttpResponse(request.COOKIES.get("flavour", "none"))
    response.set_cookie("seen", "yes")
    return response


urlpatterns = [
    path("hello/", hello),
    path("boom/", boom),
    path("post/", echo_post),
    path("stream/", stream),
    path("big/", big),
    path("later/", later),
    path("later-by-alias/", later_by_alias),
    path("cookie/", cookie),
    path("redirect/", redirect),
    path("empty-stream/", empty_stream),
    path("big-file/", big_file),
]


def http_message(path="/hello/", **extra):
    content = {
        "reply_channel": "http.response.test",
        "http_version": "1.1",
        "method": "GET",
        "path": path,
        "query_string": b"",
        "headers": [[b"host", b"testserver"]],
        "client": ["10.0.0.1", 51000],
        "server": ["testserver", 80],
        "scheme": "http",
    }
    content.update(extra)
    return content


@override_settings(ROOT_URLCONF="tests.test_handler", DEBUG=False)
class HandlerTests(SimpleTestCase):
    def setUp(self):
        self.layer = InMemoryChannelLayer()
        old = channel_layers.set("default", ChannelLayerWrapper(self.layer, "default", []))
        self.addCleanup(channel_layers.set, "default", old)

    def request(self, content):
        message = Message(content, "http.request", self.layer)
        run_consumer(ViewConsumer(), message, {}, sender=self)
        replies = []
        while True:
            channel, reply = self.layer.receive([content["reply_channel"]])
            if channel is None:
                return replies
            replies.append(reply)

    def test_view_answers_with_status_headers_and_content(self):
        replies = self.request(http_message("/hello/", query_string=b"name=ann"))
        self.assertEqual(len(replies), 1, replies)
        self.assertEqual(replies[0]["status"], 200)
        self.assertEqual(replies[0]["content"], b"hello ann at /hello/")
        self.assertFalse(replies[0]["more_content"])
        self.assertIn([b"Content-Type", b"text/html; charset=utf-8"], replies[0]["headers"])

    def test_unknown_path_gets_django_404(self):
        [reply] = self.request(http_message("/nowhere/"))
        self.assertEqual(reply["status"], 404)

    def test_view_exception_gets_500_and_signals_fire(self):
        seen = []
        receiver = lambda **kwargs: seen.append(kwargs.get("signal"))  # noqa: E731
        signals.request_started.connect(receiver)
        signals.request_finished.connect(receiver)
        self.addCleanup(signals.request_started.disconnect, receiver)
        self.addCleanup(signals.request_finished.disconnect, receiver)
        with self.assertLogs("django.request", "ERROR"):
            [reply] = self.request(http_message("/boom/"))
        self.assertEqual(reply["status"], 500)
        self.assertEqual(seen, [signals.request_started, signals.request_finished])

    def test_post_form_fields(self):
        replies = self.request(
            http_message(
                "/post/",
                method="POST",
                body=b"a=1&b=two",
                headers=[[b"content-type", b"application/x-www-form-urlencoded"], [b"content-length", b"9"]],
            )
        )
        self.assertEqual(replies[0]["content"], repr(([("a", "1"), ("b", "two")], {})).encode())

    def test_multipart_upload(self):
        body = encode_multipart(BOUNDARY, {"title": "t", "doc": SimpleUploadedFile("d.txt", b"file body")})
        replies = self.request(
            http_message(
                "/post/",
                method="POST",
                body=body,
                headers=[[b"content-type", MULTIPART_CONTENT.encode()], [b"content-length", str(len(body)).encode()]],
            )
        )
        self.assertEqual(replies[0]["content"], repr(([("title", "t")], {"doc": "file body"})).encode())

    def test_streaming_response_comes_in_chunks(self):
        # As in 1.x: status and headers ride with the first part, every part
        # says more_content, and a message of its own ends the response.
        replies = self.request(http_message("/stream/"))
        self.assertEqual(replies[0]["status"], 200)
        self.assertEqual(replies[0]["content"], b"one")
        self.assertEqual([r.get("content") for r in replies], [b"one", b"two", b"three", None])
        self.assertEqual([r["more_content"] for r in replies], [True, True, True, False])
        self.assertEqual([sorted(r) for r in replies[1:]], [["content", "more_content"]] * 2 + [["more_content"]])

    def test_empty_streaming_response_is_one_message(self):
        replies = self.request(http_message("/empty-stream/"))
        self.assertEqual(len(replies), 1, replies)
        self.assertEqual((replies[0]["status"], replies[0]["more_content"]), (204, False))
        self.assertNotIn("content", replies[0])

    def test_file_response_is_read_in_512_kib_blocks(self):
        replies = self.request(http_message("/big-file/"))
        self.assertEqual([len(r.get("content", b"")) for r in replies], [512 * 1024, 88 * 1024, 0])
        self.assertEqual([r["more_content"] for r in replies], [True, True, False])

    def test_large_content_is_chunked(self):
        class SmallChunks(AsgiHandler):
            chunk_size = 10

        consumer = ViewConsumer()
        consumer.handler = SmallChunks()
        replies = list(consumer.handler(Message(http_message("/big/"), "http.request", self.layer)))
        self.assertEqual([len(r["content"]) for r in replies], [10, 10, 5])
        self.assertEqual([r["more_content"] for r in replies], [True, True, False])
        self.assertEqual([("status" in r) for r in replies], [True, False, False])

    def test_file_response_streams(self):
        replies = list(AsgiHandler.encode_response(FileResponse(io.BytesIO(b"file-content"))))
        self.assertEqual(b"".join(r.get("content", b"") for r in replies), b"file-content")
        self.assertFalse(replies[-1]["more_content"])

    def test_response_later_sends_nothing(self):
        self.assertEqual(self.request(http_message("/later/")), [])

    def test_response_later_is_also_a_request_attribute(self):
        self.assertIs(AsgiRequest.ResponseLater, ResponseLater)
        self.assertEqual(self.request(http_message("/later-by-alias/")), [])

    def test_response_later_passes_middleware_that_answers_exceptions(self):
        with self.modify_settings(MIDDLEWARE={"append": "tests.test_handler.AnswerEveryException"}):
            self.assertEqual(self.request(http_message("/later/")), [])
            [reply] = self.request(http_message("/boom/"))
        self.assertEqual(reply["content"], b"caught RuntimeError")

    def test_handler_called_on_a_message_returns_the_reply_messages(self):
        class Premade(AsgiHandler):
            chunk_size = 4

            def get_response(self, request):
                return HttpResponse(b"Hi there!", content_type="text/plain")

        replies = list(Premade()(Message(http_message(), "http.request", self.layer)))
        self.assertEqual(
            replies,
            [
                {
                    "status": 200,
                    "headers": [(b"Content-Type", b"text/plain")],
                    "content": b"Hi t",
                    "more_content": True,
                },
                {"content": b"here", "more_content": True},
                {"content": b"!", "more_content": False},
            ],
        )
        self.assertEqual(AsgiHandler.chunk_size, 512 * 1024)

    def test_encode_response_is_a_classmethod_keeping_header_case(self):
        response = HttpResponseRedirect("/elsewhere/")
        response["x-lower"] = "kept"
        response.set_cookie("seen", "yes")
        [message] = AsgiHandler.encode_response(response)
        self.assertEqual(message["status"], 302)
        headers = message["headers"]
        self.assertTrue(all(type(pair) is tuple for pair in headers), headers)
        self.assertEqual(dict(headers)[b"Location"], b"/elsewhere/")
        self.assertEqual(dict(headers)[b"x-lower"], b"kept")
        self.assertTrue(dict(headers)[b"Set-Cookie"].startswith(b"seen=yes"), headers)
        self.assertIsNone(check_http_reply(message, first=True))

    def test_cookies_in_and_out(self):
        [reply] = self.request(http_message("/cookie/", headers=[[b"cookie", b"flavour=mint"]]))
        self.assertEqual(reply["content"], b"mint")
        self.assertIn(b"Set-Cookie", [h[0] for h in reply["headers"]])

    def test_redirect_keeps_the_location_header_name(self):
        [reply] = self.request(http_message("/redirect/"))
        self.assertEqual(reply["status"], 302)
        self.assertIn([b"Location", b"/hello/"], reply["headers"])

    def test_body_channel_chunks_are_read(self):
        self.layer.send("http.request.body?x", {"content": b"a=1&", "more_content": True})
        self.layer.send("http.request.body?x", {"content": b"b=2", "more_content": False})
        replies = self.request(
            http_message(
                "/post/",
                method="POST",
                body=b"",
                body_channel="http.request.body?x",
                headers=[[b"content-type", b"application/x-www-form-urlencoded"]],
            )
        )
        self.assertEqual(replies[0]["content"], repr(([("a", "1"), ("b", "2")], {})).encode())

    def test_body_channel_closed_aborts_without_reply(self):
        self.layer.send("http.request.body?y", {"closed": True})
        self.assertEqual(self.request(http_message("/post/", method="POST", body_channel="http.request.body?y")), [])

    def test_body_channel_timeout(self):
        class Quick(AsgiRequest):
            body_receive_timeout = 0

        message = Message(http_message(body_channel="http.request.body?z"), "http.request", self.layer)
        self.layer.blocking_timeout = 0.01
        with self.assertRaisesMessage(RequestTimeout, "http.request.body?z"):
            Quick(message)

    def test_request_meta(self):
        request = AsgiRequest(
            Message(
                http_message(
                    "/app/hello/",
                    root_path="/app",
                    query_string=b"q=1",
                    scheme="https",
                    headers=[
                        [b"host", b"example.com"],
                        [b"x-custom", b"v"],
                        [b"content-type", b"text/plain"],
                        [b"content-length", b"0"],
                    ],
                ),
                "http.request",
                self.layer,
            )
        )
        self.assertEqual(request.path, "/app/hello/")
        self.assertEqual(request.path_info, "/hello/")
        self.assertEqual(request.META["SCRIPT_NAME"], "/app")
        self.assertEqual(request.GET["q"], "1")
        self.assertEqual(request.META["HTTP_X_CUSTOM"], "v")
        self.assertEqual(request.META["CONTENT_TYPE"], "text/plain")
        self.assertEqual(request.META["CONTENT_LENGTH"], "0")
        self.assertEqual(request.META["REMOTE_ADDR"], "10.0.0.1")
        self.assertEqual(request.META["REMOTE_PORT"], 51000)
        self.assertEqual(request.META["SERVER_NAME"], "testserver")
        self.assertEqual(request.META["SERVER_PORT"], "80")
        self.assertEqual(request.META["wsgi.url_scheme"], "https")
        self.assertTrue(request.is_secure())

    def test_malformed_messages_name_the_key(self):
        content = http_message()
        del content["path"]
        with self.assertRaisesMessage(MalformedMessage, "'path'"):
            AsgiRequest(Message(content, "http.request", self.layer))
        with self.assertRaisesMessage(MalformedMessage, "'headers' item 0"):
            AsgiRequest(Message(http_message(headers=[["host", "x"]]), "http.request", self.layer))

    def test_malformed_message_gets_400_logged_on_django_request(self):
        content = http_message()
        del content["method"]
        with self.assertLogs("django.request", "ERROR") as logs:
            [reply] = self.request(content)
        self.assertEqual(reply["status"], 400)
        self.assertIn(b"'method'", reply["content"])
        self.assertIn("'method'", logs.output[0])

    def test_undecodable_request_gets_400_logged_on_django_request(self):
        with self.assertLogs("django.request", "WARNING") as logs:
            [reply] = self.request(http_message(query_string=b"q=\xff"))
        self.assertEqual(reply["status"], 400)
        self.assertEqual(logs.records[0].status_code, 400)
        self.assertIn("UnicodeDecodeError", logs.output[0])


class RequestMessageShapeTests(SimpleTestCase):
    """The shapes of ``http.request`` that Channels 1.x accepted."""

    def setUp(self):
        self.layer = InMemoryChannelLayer()

    def build(self, **content):
        return AsgiRequest(Message({"reply_channel": "http.response!x", **content}, "http.request", self.layer))

    def test_headers_as_a_dict_work_with_a_deprecation_warning(self):
        headers = {"host": b"example.com", "content-type": b"application/x-www-form-urlencoded", "cookie": b"a=1; b=2"}
        with self.assertWarnsMessage(ChannelsTestDeprecationWarning, "send a list of [name, value] byte pairs"):
            request = self.build(method="POST", path="/form/", body=b"x=1", headers=headers)
        self.assertEqual(request.META["HTTP_HOST"], "example.com")
        self.assertEqual(request.COOKIES, {"a": "1", "b": "2"})
        self.assertEqual(request.POST["x"], "1")
        self.assertFalse(request._post_parse_error)
        self.assertIsInstance(headers, dict, "the message's headers were replaced")

    def test_list_headers_and_str_path_do_not_warn(self):
        with warnings.catch_warnings():
            warnings.simplefilter("error", ChannelsTestDeprecationWarning)
            request = self.build(method="GET", path="/a/", headers=[[b"Host", b"example.com"]])
        self.assertEqual(request.META["HTTP_HOST"], "example.com")

    def test_bytes_path_works_with_a_deprecation_warning(self):
        with self.assertWarnsMessage(ChannelsTestDeprecationWarning, "'path' is bytes"):
            request = self.build(method="GET", path=b"/caf\xc3\xa9/")
        self.assertEqual((request.path, request.path_info), ("/café/", "/café/"))

    def test_missing_method_or_path_is_a_key_error_as_in_1x(self):
        for missing in ("method", "path"):
            content = {"method": "GET", "path": "/"}
            del content[missing]
            with self.subTest(missing=missing):
                with self.assertRaises(KeyError) as caught:
                    self.build(**content)
                self.assertIsInstance(caught.exception, MalformedMessage)
                self.assertIn(f"no {missing!r} key", str(caught.exception))

    def test_optional_keys_may_be_none_or_empty(self):
        request = self.build(
            method="get",
            path="/x/",
            root_path=None,
            query_string="a=1&b=%26",
            client=[],
            server=None,
            body=None,
            headers=None,
            scheme=None,
        )
        self.assertEqual(request.method, "GET")
        self.assertEqual(request.META["SCRIPT_NAME"], "")
        self.assertEqual(dict(request.GET.items()), {"a": "1", "b": "&"})
        self.assertNotIn("REMOTE_ADDR", request.META)
        self.assertEqual((request.META["SERVER_NAME"], request.META["SERVER_PORT"]), ("unknown", "0"))
        self.assertEqual(request.body, b"")
        self.assertEqual(request.scheme, "http")


@override_settings(ROOT_URLCONF="tests.test_handler", DEBUG=False)
class InterfaceBoundaryTests(InProcessTestCase):
    """What the handler sends, through the interface application, as an ASGI server gets it."""

    async def test_header_names_are_lower_case_for_the_server(self):
        scope = {
            "type": "http",
            "method": "GET",
            "path": "/redirect/",
            "query_string": b"",
            "headers": [(b"host", b"testserver")],
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 80),
        }
        communicator = ApplicationCommunicator(self.app, scope)
        self.addCleanup(communicator.stop, exceptions=False)
        await communicator.send_input({"type": "http.request", "body": b""})
        request = await self.take("http.request")
        await asyncio.to_thread(ViewConsumer(), Message(request, "http.request", self.worker_layer))
        start = await communicator.receive_output(10)
        self.assertEqual((start["type"], start["status"]), ("http.response.start", 302))
        self.assertIn((b"location", b"/hello/"), start["headers"])
        self.assertIn(b"content-type", [name for name, _ in start["headers"]])
        self.assertEqual([name for name, _ in start["headers"]], [name.lower() for name, _ in start["headers"]])
        body = await communicator.receive_output(10)
        self.assertEqual((body["body"], body["more_body"]), (b"", False))

    async def test_streamed_reply_in_1x_framing_reaches_the_server_whole(self):
        scope = {
            "type": "http",
            "method": "GET",
            "path": "/stream/",
            "query_string": b"",
            "headers": [],
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 80),
        }
        communicator = ApplicationCommunicator(self.app, scope)
        self.addCleanup(communicator.stop, exceptions=False)
        await communicator.send_input({"type": "http.request", "body": b""})
        request = await self.take("http.request")
        await asyncio.to_thread(ViewConsumer(), Message(request, "http.request", self.worker_layer))
        start = await communicator.receive_output(10)
        self.assertEqual(start["status"], 200)
        bodies = []
        while not bodies or bodies[-1]["more_body"]:
            bodies.append(await communicator.receive_output(10))
        self.assertEqual(b"".join(part["body"] for part in bodies), b"onetwothree")
