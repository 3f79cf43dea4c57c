"""The ASGI 3 application an ASGI server (Daphne) serves: connections <-> channel layer.

Each HTTP request becomes one ``http.request`` message, each WebSocket event
a ``websocket.connect`` / ``websocket.receive`` / ``websocket.disconnect``
message, in the ASGI 1 format the workers' consumers expect. Replies come
back on reply channels this process makes (``http.response.<process>!…`` and
``websocket.send.<process>!…``); they are received in one place for the
whole process (the event loop itself, where the layer can wake it, else one
thread) and handed each to its connection, so idle connections cost no
polling.

A project's ``asgi.py``::

    import os
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "myproject.settings")
    django.setup()

    from channels_test.interface import application  # noqa: E402

and ``daphne myproject.asgi:application`` serves it, while
``manage.py runworker`` processes run the consumers.

The package, by part:

- :mod:`.app`: :class:`InterfaceApplication` (settings, layer calls, the
  send executor, dispatch by scope type) and :data:`application`;
- :mod:`.replies`: :class:`ReplyReceiver`, which receives the replies in the
  event loop (:class:`LoopReplies`) or in a thread;
- :mod:`.http` and :mod:`.websocket`: one connection of each protocol;
- :mod:`.connection`: what the two share;
- :mod:`.outage`: the layer-outage log and refused closes.

The messages themselves, and the checks of the replies, live in
:mod:`channels_test.asgi1`.
"""

from ..asgi1 import check_http_reply, check_websocket_reply
from .app import (
    DEFAULT_BODY_CHUNK_SIZE,
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_HTTP_TIMEOUT,
    InterfaceApplication,
    application,
    get_interface_application,
)
from .connection import Connection
from .http import SEND_RETRY_INTERVAL, HttpConnection
from .outage import CHANNEL_FULL_RETRY_AFTER, LAYER_DOWN_RETRY_AFTER, CloseCodeRefused, LayerOutage, layer_errors
from .replies import LoopReplies, ReplyReceiver
from .websocket import WebsocketConnection

__all__ = [
    "DEFAULT_BODY_CHUNK_SIZE",
    "DEFAULT_CONNECT_TIMEOUT",
    "DEFAULT_HTTP_TIMEOUT",
    "CHANNEL_FULL_RETRY_AFTER",
    "LAYER_DOWN_RETRY_AFTER",
    "SEND_RETRY_INTERVAL",
    "CloseCodeRefused",
    "Connection",
    "HttpConnection",
    "InterfaceApplication",
    "LayerOutage",
    "LoopReplies",
    "ReplyReceiver",
    "WebsocketConnection",
    "application",
    "check_http_reply",
    "check_websocket_reply",
    "get_interface_application",
    "layer_errors",
]
