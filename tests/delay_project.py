"""Routing of the delay process tests' project: the interface project's, plus ``/delay/``.

A WebSocket frame to ``/delay/`` is JSON ``{"text": str, "delay": ms}``; the
consumer asks the delay server to send ``text`` back to the socket after
``delay`` milliseconds.
"""

import json

from channels_test import Channel
from channels_test.routing import include, route

from .interface_project import channel_routing as interface_routing


def delay_receive(message):
    request = json.loads(message["text"])
    Channel("asgi.delay").send(
        {
            "channel": message.reply_channel.name,
            "content": {"text": request["text"]},
            "delay": request["delay"],
        }
    )


channel_routing = [
    route("websocket.receive", delay_receive, path=r"^/delay/$"),
    include(interface_routing),
]
