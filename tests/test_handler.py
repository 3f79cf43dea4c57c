"""AsgiRequest, AsgiHandler and ViewConsumer over real ``http.request`` messages."""

from django.core import signals
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import FileResponse, HttpResponse, StreamingHttpResponse
from django.test import SimpleTestCase, override_settings
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart
from django.urls import path

from channels_test.asgi import ChannelLayerWrapper, channel_layers
from channels_test.exceptions import RequestTimeout, ResponseLater
from channels_test.handler import AsgiHandler, AsgiRequest, MalformedMessage, ViewConsumer
from channels_test.layers.inmemory import InMemoryChannelLayer
from channels_test.message import Message
from channels_test.worker import run_consumer


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
    path("cookie/", cookie),
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
        self.assertIn([b"content-type", b"text/html; charset=utf-8"], [list(h) for h in replies[0]["headers"]])

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
        replies = self.request(http_message(
            "/post/", method="POST", body=b"a=1&b=two",
            headers=[[b"content-type", b"application/x-www-form-urlencoded"], [b"content-length", b"9"]],
        ))
        self.assertEqual(replies[0]["content"], repr(([("a", "1"), ("b", "two")], {})).encode())

    def test_multipart_upload(self):
        body = encode_multipart(BOUNDARY, {"title": "t", "doc": SimpleUploadedFile("d.txt", b"file body")})
        replies = self.request(http_message(
            "/post/", method="POST", body=body,
            headers=[[b"content-type", MULTIPART_CONTENT.encode()], [b"content-length", str(len(body)).encode()]],
        ))
        self.assertEqual(replies[0]["content"], repr(([("title", "t")], {"doc": "file body"})).encode())

    def test_streaming_response_comes_in_chunks(self):
        replies = self.request(http_message("/stream/"))
        self.assertEqual(replies[0]["status"], 200)
        self.assertEqual([r["content"] for r in replies], [b"", b"one", b"two", b"three", b""])
        self.assertEqual([r["more_content"] for r in replies], [True] * 4 + [False])
        self.assertNotIn("status", replies[1])

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
        import io

        handler = AsgiHandler()
        replies = list(handler.encode_response(FileResponse(io.BytesIO(b"file-content"))))
        self.assertEqual(b"".join(r["content"] for r in replies), b"file-content")
        self.assertFalse(replies[-1]["more_content"])

    def test_response_later_sends_nothing(self):
        self.assertEqual(self.request(http_message("/later/")), [])

    def test_cookies_in_and_out(self):
        [reply] = self.request(http_message("/cookie/", headers=[[b"cookie", b"flavour=mint"]]))
        self.assertEqual(reply["content"], b"mint")
        self.assertIn(b"set-cookie", [h[0] for h in reply["headers"]])

    def test_body_channel_chunks_are_read(self):
        self.layer.send("http.request.body?x", {"content": b"a=1&", "more_content": True})
        self.layer.send("http.request.body?x", {"content": b"b=2", "more_content": False})
        replies = self.request(http_message(
            "/post/", method="POST", body=b"", body_channel="http.request.body?x",
            headers=[[b"content-type", b"application/x-www-form-urlencoded"]],
        ))
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
        request = AsgiRequest(Message(http_message(
            "/app/hello/", root_path="/app", query_string=b"q=1", scheme="https",
            headers=[[b"host", b"example.com"], [b"x-custom", b"v"], [b"content-type", b"text/plain"],
                     [b"content-length", b"0"]],
        ), "http.request", self.layer))
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

    def test_malformed_message_gets_400(self):
        content = http_message()
        del content["method"]
        [reply] = self.request(content)
        self.assertEqual(reply["status"], 400)
        self.assertIn(b"'method'", reply["content"])

