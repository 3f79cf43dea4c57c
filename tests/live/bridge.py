"""Consumers and page for the WebSocketBridge browser tests (tests/test_websocketbridge.py).

Sockets on /bridge/echo/ get back every JSON frame they send: ``{"echo":
frame, "socket": reply channel name}``, or, for a stream frame, the same
inside ``{"stream": name, "payload": ...}``. ``{"command": "close"}`` makes
the consumer close the socket. Sockets on /bridge/refuse/ are refused.
"""

import json

from django.shortcuts import render

from channels_test import Group

SOCKETS = "bridge-sockets"


def echo_connect(message):
    Group(SOCKETS).add(message.reply_channel)
    message.reply_channel.send({"accept": True})


def echo_receive(message):
    frame = json.loads(message["text"])
    if frame == {"command": "close"}:
        message.reply_channel.send({"close": True})
        return
    if isinstance(frame, dict) and "stream" in frame:
        reply = {"stream": frame["stream"], "payload": {"echo": frame["payload"], "socket": message.reply_channel.name}}
    else:
        reply = {"echo": frame, "socket": message.reply_channel.name}
    message.reply_channel.send({"text": json.dumps(reply)})


def echo_disconnect(message):
    Group(SOCKETS).discard(message.reply_channel)


def refuse_connect(message):
    message.reply_channel.send({"accept": False})


def bridge_page(request):
    return render(request, "live/bridge.html")
