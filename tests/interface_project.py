"""Routing, consumers and views the interface tests' Daphne and worker processes serve.

WebSocket paths: ``/echo/`` (JSON text and bytes echo), ``/reject/``,
``/close/`` (closes with 4123 on the first frame), ``/group/`` (joins group
``room``), ``/bad-accept/`` and ``/bad-text/`` (malformed replies),
``/silent/`` (never answers the connect). HTTP: Django views below, and a
plain consumer under ``/raw/``.
"""

import hashlib
import json
import os
import sys
import time

from django.conf import settings
from django.http import HttpResponse, JsonResponse, StreamingHttpResponse
from django.urls import path

from channels_test import Group
from channels_test.routing import route
from tests.support.processes import SLOW_VIEW_STARTED

# -- middleware and views ------------------------------------------------------------


def stamp_middleware(get_response):
    """Mark every response Django's middleware chain produced."""

    def middleware(request):
        response = get_response(request)
        response["X-Middleware"] = "ran"
        return response

    return middleware


def hello(request):
    return HttpResponse(f"Hello {request.GET.get('name', 'world')} from pid {os.getpid()}")


def upload(request):
    body = request.body
    return JsonResponse({"size": len(body), "sha256": hashlib.sha256(body).hexdigest()})


def stream(request):
    def parts():
        for index in range(5):
            yield f"part {index};".encode()
            time.sleep(0.2)

    return StreamingHttpResponse(parts(), content_type="text/plain")


def broken(request):
    raise RuntimeError("this view fails on purpose")


def slow(request):
    # Tests wait for this line in the worker's output to know the view runs.
    print(SLOW_VIEW_STARTED, file=sys.stderr, flush=True)
    time.sleep(float(request.GET.get("seconds", "60")))
    return HttpResponse("finally")


def probe(request):
    return HttpResponse(settings.PROBE_VALUE)


urlpatterns = [
    path("hello/", hello),
    path("probe/", probe),
    path("upload/", upload),
    path("stream/", stream),
    path("slow/", slow),
    path("broken/", broken),
]

# -- plain consumers -------------------------------------------------------------------


def raw_http(message):
    """Answer /raw/ without Django views; /raw/malformed/ with a bad status."""
    if message["path"].startswith("/raw/malformed/"):
        message.reply_channel.send({"status": "200", "content": b"x"})
        return
    message.reply_channel.send(
        {
            "status": 201,
            "headers": [[b"content-type", b"text/plain"], [b"x-reply-channel", message.reply_channel.name.encode()]],
            "content": b"raw:" + message["query_string"],
        }
    )


def ws_connect(message):
    where = message["path"]
    if where == "/reject/":
        message.reply_channel.send({"accept": False})
    elif where == "/bad-accept/":
        message.reply_channel.send({"accept": "yes"})
    elif where == "/silent/":
        pass
    else:
        if where == "/group/":
            Group("room").add(message.reply_channel)
        message.reply_channel.send({"accept": True})


def ws_receive(message):
    where = message["path"]
    if where == "/close/":
        message.reply_channel.send({"close": 4123})
    elif where == "/bad-text/":
        message.reply_channel.send({"text": 5})
    elif message.get("bytes") is not None:
        message.reply_channel.send({"bytes": message["bytes"][::-1]})
    else:
        payload = json.loads(message["text"])
        reply = {"echo": payload, "order": message["order"], "reply_channel": message.reply_channel.name}
        message.reply_channel.send({"text": json.dumps(reply)})


def ws_disconnect(message):
    if message["path"] == "/group/":
        Group("room").discard(message.reply_channel)


channel_routing = [
    route("http.request", raw_http, path=r"^/raw/"),
    # Other requests go to Django's views: the default runserver and runworker add.
    route("websocket.connect", ws_connect),
    route("websocket.receive", ws_receive),
    route("websocket.disconnect", ws_disconnect),
]
