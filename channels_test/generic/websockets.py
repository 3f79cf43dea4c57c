"""WebSocket consumers: plain, JSON, and a demultiplexer for several streams on one socket."""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable
from typing import Any

from ..auth import channel_and_http_session_user_from_http, channel_session_user_from_http
from ..channel import Channel, Group
from ..deprecation import warn_deprecated
from ..exceptions import SendNotAvailableOnDemultiplexer
from ..jsoncodec import decode_json, encode_json
from ..sessions import enforce_ordering
from .base import BaseConsumer

__all__ = [
    "WebsocketConsumer",
    "JsonWebsocketConsumer",
    "WebsocketMultiplexer",
    "WebsocketDemultiplexer",
]

logger = logging.getLogger("channels_test.generic.websockets")


def _frame(text: str | None, bytes: bytes | None, close: bool | int) -> dict:
    frame: dict = {}
    if text is not None:
        if not isinstance(text, str):
            # Channels 1.x passed it through; the interface refuses it in production.
            warn_deprecated(
                f"send(text=...) takes a str, not {type(text).__name__}: {text!r}. It is sent "
                "as it is, but an interface server refuses a frame whose text is not a str: "
                "encode it first (JsonWebsocketConsumer does, with send(content)).",
                stacklevel=4,
            )
        frame["text"] = text
    elif bytes is not None:
        if not isinstance(bytes, (type(b""), bytearray)):
            raise TypeError(f"send(bytes=...) takes bytes, not {type(bytes).__name__}: {bytes!r}")
        frame["bytes"] = type(b"")(bytes)
    elif not close:
        raise ValueError("Pass text=, bytes= or close= to send something.")
    if close:
        frame["close"] = close
    return frame


class WebsocketConsumer(BaseConsumer):
    """A WebSocket connection's consumer: override connect, receive and disconnect.

    * ``groups`` (or :meth:`connection_groups`) are joined at connect and
      left at disconnect.
    * ``connect`` accepts the socket by default (``{"accept": True}``).
    * ``http_user = True`` gives every handler ``message.user`` (copied from
      the HTTP session at connect) and ``message.http_session``;
      ``http_user_and_session = True`` is the same (kept as a 1.x name).
    * ``strict_ordering = True`` runs the connection's messages in ``order``.
    """

    method_mapping = {
        "websocket.connect": "raw_connect",
        "websocket.receive": "raw_receive",
        "websocket.disconnect": "raw_disconnect",
    }
    groups: list[str] | None = None
    http_user = False
    http_user_and_session = False
    strict_ordering = False
    slight_ordering = False

    def get_handler(self, message: Any, **kwargs: Any) -> Callable:
        self.path = message.get("path")
        if not (self.slight_ordering or self.http_user or self.http_user_and_session or self.strict_ordering):
            # The usual case: none of the options below (kwargs passed on only if any: see BaseConsumer).
            return super().get_handler(message, **kwargs) if kwargs else super().get_handler(message)
        if self.slight_ordering:
            raise ValueError(
                f"{type(self).__qualname__}.slight_ordering is gone: slight ordering is always "
                "on now. Remove it, or set strict_ordering = True."
            )
        if self.http_user or self.http_user_and_session:
            # As in Channels 1.x, on every message: the user comes from the
            # channel session, refreshed from the HTTP session whenever the
            # message carries its cookie.
            self.channel_session_user = True
        handler = super().get_handler(message, **kwargs)
        if self.http_user_and_session:
            handler = channel_and_http_session_user_from_http(handler)
        elif self.http_user:
            handler = channel_session_user_from_http(handler)
        if self.strict_ordering:
            handler = enforce_ordering(handler)
        return handler

    @property
    def multiplexer(self) -> WebsocketMultiplexer | None:
        """The multiplexer when a demultiplexer runs this consumer for one stream, else None."""
        return self.kwargs.get("multiplexer")

    def connection_groups(self, **kwargs: Any) -> list[str]:
        """Return the groups the connection joins at connect (a list, not a str)."""
        groups = self.groups or []
        if isinstance(groups, str):
            raise TypeError(
                f"{type(self).__qualname__}.groups must be a list of group names, not the "
                f"string {groups!r}; write groups = [{groups!r}]."
            )
        return list(groups)

    def _groups(self, **kwargs: Any) -> list[str]:
        """Call connection_groups with the route kwargs it accepts (1.x code often takes none)."""
        method = self.connection_groups
        if kwargs:
            accepted = _accepted_keywords(method)
            if accepted is not None:
                kwargs = {name: value for name, value in kwargs.items() if name in accepted}
            return method(**kwargs)
        return method()

    def raw_connect(self, message: Any, **kwargs: Any) -> None:
        # kwargs passed on only if there are some: see BaseConsumer.
        for group in self._groups(**kwargs) if kwargs else self._groups():
            Group(group, channel_layer=message.channel_layer).add(message.reply_channel)
        if kwargs:
            self.connect(message, **kwargs)
        else:
            self.connect(message)

    def connect(self, message: Any, **kwargs: Any) -> None:
        """Accept the connection (a stream consumer under a demultiplexer sends nothing)."""
        if "multiplexer" not in kwargs:
            message.reply_channel.send({"accept": True})

    def raw_receive(self, message: Any, **kwargs: Any) -> None:
        # kwargs passed on only if there are some: see BaseConsumer.
        if "text" in message and message["text"] is not None:
            if kwargs:
                self.receive(text=message["text"], **kwargs)
            else:
                self.receive(text=message["text"])
        elif kwargs:
            self.receive(bytes=message.get("bytes"), **kwargs)
        else:
            self.receive(bytes=message.get("bytes"))

    def receive(self, text: str | None = None, bytes: bytes | None = None, **kwargs: Any) -> None:
        """Handle one frame (``text`` or ``bytes``); does nothing by default."""

    def send(self, text: str | None = None, bytes: bytes | None = None, close: bool | int = False) -> None:
        """Send a frame down the socket; ``close=True`` (or a code) closes it after."""
        self.message.reply_channel.send(_frame(text, bytes, close))

    @classmethod
    def group_send(
        cls, name: str, text: str | None = None, bytes: bytes | None = None, close: bool | int = False
    ) -> None:
        """Send a frame to every socket in group ``name``."""
        Group(name).send(_frame(text, bytes, close))

    def close(self, status: bool | int = True) -> None:
        """Close the socket, with a close code if ``status`` is an int."""
        self.message.reply_channel.send({"close": status})

    def raw_disconnect(self, message: Any, **kwargs: Any) -> None:
        # kwargs passed on only if there are some: see BaseConsumer.
        for group in self._groups(**kwargs) if kwargs else self._groups():
            Group(group, channel_layer=message.channel_layer).discard(message.reply_channel)
        if kwargs:
            self.disconnect(message, **kwargs)
        else:
            self.disconnect(message)

    def disconnect(self, message: Any, **kwargs: Any) -> None:
        """Handle the socket closing; does nothing by default."""


def _accepted_keywords(method: Callable) -> frozenset | None:
    """Return the names ``method`` accepts as keywords, or None if it takes ``**kwargs``.

    Looked up once per function: reading a signature costs more than the
    rest of a connect.
    """
    function = getattr(method, "__func__", None)
    try:
        if function is not None:
            return _signature_keywords(function, bound=True)
        return _signature_keywords(method, bound=False)
    except TypeError:  # a callable that cannot be a cache key
        return _signature_keywords.__wrapped__(method, bound=False)


@functools.lru_cache(maxsize=256)
def _signature_keywords(function: Callable, *, bound: bool) -> frozenset | None:
    parameters = list(inspect.signature(function).parameters.values())
    if bound:
        parameters = parameters[1:]  # self
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        return None
    return frozenset(p.name for p in parameters)


class JsonWebsocketConsumer(WebsocketConsumer):
    """A WebSocket consumer that speaks JSON text frames.

    ``receive(content, **kwargs)`` gets the decoded frame; ``send(content)``
    encodes with Django's JSON encoder (dates, Decimals, UUIDs). A frame that
    is not JSON is logged as an error and skipped; the socket stays open.
    """

    def raw_receive(self, message: Any, **kwargs: Any) -> None:
        text = message.get("text")
        if text is None:
            logger.error(
                "%s expects JSON text frames; got a binary frame on %s. Frame skipped.",
                type(self).__qualname__,
                message.reply_channel,
            )
            return
        try:
            content = self.decode_json(text)
        except ValueError as error:
            logger.error(
                "%s could not decode a frame on %s as JSON (%s): %.200r. Frame skipped.",
                type(self).__qualname__,
                message.reply_channel,
                error,
                text,
            )
            return
        if kwargs:  # passed on only if there are some: see BaseConsumer
            self.receive(content, **kwargs)
        else:
            self.receive(content)

    # The JSON consumer takes decoded content where WebsocketConsumer takes
    # text/bytes (the Channels 1.x API): a deliberate incompatible override.
    def receive(self, content: Any, **kwargs: Any) -> None:  # type: ignore[override]
        """Handle one decoded JSON frame; does nothing by default."""

    def send(self, content: Any, close: bool | int = False) -> None:  # type: ignore[override]  # as receive()
        """Send ``content`` as JSON (wrapped in its stream when under a demultiplexer)."""
        if self.multiplexer is not None:
            self.multiplexer.send(content, close=close)
        else:
            super().send(text=self.encode_json(content), close=close)

    @classmethod
    def group_send(cls, name: str, content: Any, close: bool | int = False) -> None:  # type: ignore[override]  # as receive()
        """Send ``content`` as JSON to every socket in group ``name``."""
        WebsocketConsumer.group_send(name, cls.encode_json(content), close=close)

    @classmethod
    def decode_json(cls, text: str) -> Any:
        return decode_json(text)

    @classmethod
    def encode_json(cls, content: Any) -> str:
        return encode_json(content)


class WebsocketMultiplexer:
    """Send payloads on one stream of a multiplexed socket, as ``{"stream", "payload"}`` JSON."""

    def __init__(self, stream: str, reply_channel: Channel):
        self.stream = stream
        self.reply_channel = reply_channel

    def send(self, payload: Any, close: bool | int = False) -> None:
        """Send ``payload`` on this stream."""
        message = self.encode(self.stream, payload)
        if close:
            message["close"] = close
        self.reply_channel.send(message)

    @classmethod
    def encode_json(cls, content: Any) -> str:
        return encode_json(content)

    @classmethod
    def encode(cls, stream: str, payload: Any) -> dict:
        """Return the ``{"text": ...}`` frame that carries ``payload`` on ``stream``."""
        return {"text": cls.encode_json({"stream": stream, "payload": payload})}

    @classmethod
    def group_send(cls, name: str, stream: str, payload: Any, close: bool | int = False) -> None:
        """Send ``payload`` on ``stream`` to every socket in group ``name``."""
        message = cls.encode(stream, payload)
        if close:
            message["close"] = close
        Group(name).send(message)


class WebsocketDemultiplexer(JsonWebsocketConsumer):
    """Route ``{"stream": ..., "payload": {...}}`` frames to one consumer per stream.

    Two ways to say where a stream goes:

    * ``consumers = {"stream": ConsumerClassOrFunction}``: the consumer runs
      in this worker with the payload as the message's JSON ``text`` and a
      ``multiplexer`` keyword argument; a ``JsonWebsocketConsumer``'s
      ``send`` then wraps what it sends in the stream. Connect and
      disconnect are passed on to every such consumer.
    * ``mapping = {"stream": "channel.name"}``: the payload (plus
      ``reply_channel``) is sent as a message on that channel, for a consumer
      routed there, e.g. ``route("binding.intval", Binding.consumer)``.

    A frame for an unknown stream, or without ``stream`` and ``payload``, is
    logged as an error and skipped.
    """

    consumers: dict[str, Any] = {}
    mapping: dict[str, str] = {}
    multiplexer_class = WebsocketMultiplexer

    def streams(self) -> list[str]:
        return sorted({*self.consumers, *self.mapping})

    def receive(self, content: Any, **kwargs: Any) -> None:  # type: ignore[override]  # JSON content, as its base's
        if not (isinstance(content, dict) and "stream" in content and "payload" in content):
            logger.error(
                "%s got a frame without 'stream' and 'payload' on %s: %.200r. Frame skipped; "
                'send {"stream": ..., "payload": {...}}.',
                type(self).__qualname__,
                self.message.reply_channel,
                content,
            )
            return
        stream, payload = content["stream"], content["payload"]
        if not isinstance(payload, dict):
            logger.error(
                "%s: the payload on stream %r must be a JSON object, not %.200r. Frame skipped.",
                type(self).__qualname__,
                stream,
                payload,
            )
            return
        if stream in self.consumers:
            self.message.content["text"] = self.encode_json(payload)
            self.consumers[stream](self.message, **kwargs, multiplexer=self.multiplexer_for(stream))
        elif stream in self.mapping:
            forwarded = dict(payload, reply_channel=self.message.reply_channel.name)
            Channel(self.mapping[stream], channel_layer=self.message.channel_layer).send(forwarded)
        else:
            logger.error(
                "%s got a frame for unknown stream %r; known streams: %s. Frame skipped.",
                type(self).__qualname__,
                stream,
                ", ".join(map(repr, self.streams())) or "none",
            )

    def multiplexer_for(self, stream: str) -> WebsocketMultiplexer:
        return self.multiplexer_class(stream, self.message.reply_channel)

    def connect(self, message: Any, **kwargs: Any) -> None:
        """Accept, then pass the connect on to every stream consumer."""
        message.reply_channel.send({"accept": True})
        for stream, consumer in self.consumers.items():
            consumer(message, **kwargs, multiplexer=self.multiplexer_for(stream))

    def disconnect(self, message: Any, **kwargs: Any) -> None:
        """Pass the disconnect on to every stream consumer."""
        for stream, consumer in self.consumers.items():
            consumer(message, **kwargs, multiplexer=self.multiplexer_for(stream))

    def send(self, *args: Any, **kwargs: Any) -> None:
        raise SendNotAvailableOnDemultiplexer(
            "A demultiplexer does not send by itself: send from a stream consumer "
            "(its send() wraps the stream), or use the 'multiplexer' keyword argument's send()."
        )

    # Takes WebsocketMultiplexer.group_send's arguments only to refuse them (the 1.x API).
    @classmethod
    def group_send(  # type: ignore[override]
        cls, name: str, stream: str, payload: Any, close: bool | int = False
    ) -> None:
        raise SendNotAvailableOnDemultiplexer(
            "Use WebsocketMultiplexer.group_send(group, stream, payload) to send to a group."
        )
