"""Django views over ``http.request`` messages.

:class:`AsgiRequest` turns an ASGI 1 ``http.request`` message into a Django
request; :class:`AsgiHandler` runs Django's request cycle on it and returns
the ``http.response`` messages to send; :class:`ViewConsumer` is the consumer
the router uses for ``http.request`` by default.
"""

from __future__ import annotations

import io
import logging
import threading
import time
from collections.abc import Iterator
from typing import Any

from django import http
from django.core import signals
from django.core.handlers import base
from django.core.handlers.asgi import ASGIRequest
from django.urls import set_script_prefix

from .asgi1 import MalformedMessage, MissingKey, http_request_scope
from .exceptions import RequestAborted, RequestTimeout, ResponseLater

__all__ = ["AsgiHandler", "AsgiRequest", "MalformedMessage", "MissingKey", "ViewConsumer"]

# The logger Channels 1.x and Django use for request errors, so that a
# LOGGING configuration written for either keeps catching them.
logger = logging.getLogger("django.request")


class AsgiRequest(ASGIRequest):
    """A Django request built from an ASGI 1 ``http.request`` message.

    ``path`` and ``method`` are required (a missing one raises
    :class:`MissingKey`, a ``KeyError`` as in 1.x); ``root_path`` becomes
    SCRIPT_NAME and is cut off ``path`` to give ``path_info``. ``headers`` is
    a list of ``[name, value]`` byte pairs; a 1.x-style dict of name to bytes
    value is accepted with a :class:`ChannelsTestDeprecationWarning`, as is a
    bytes ``path``. ``query_string`` may be bytes or str. When the message
    names a ``body_channel``, the rest of the body is read from it: a chunk
    with ``closed`` raises :class:`RequestAborted`, waiting more than
    ``body_receive_timeout`` seconds raises :class:`RequestTimeout`. Any
    other malformed value raises :class:`MalformedMessage` naming the key.
    """

    #: Raise from a view to send no response now (1.x's alias of the exception).
    ResponseLater = ResponseLater

    body_receive_timeout = 60

    # Older Django set this when POST parsing failed; 1.x tests read it.
    _post_parse_error = False

    def __init__(self, message: Any):
        self.message = message
        self.reply_channel = getattr(message, "reply_channel", None)
        content = message.content if hasattr(message, "content") else message
        scope = self.scope_from_message(content)
        body = content.get("body") or b""
        if not isinstance(body, bytes):
            raise MalformedMessage(f"http.request key 'body' must be bytes, not {body!r}")
        body_channel = content.get("body_channel")
        if body_channel:
            if isinstance(body_channel, bytes):
                body_channel = body_channel.decode("utf-8")
            if not isinstance(body_channel, str):
                raise MalformedMessage(
                    f"http.request key 'body_channel' must be str or bytes, "
                    f"not {type(body_channel).__name__}: {body_channel!r}"
                )
            body += self.read_body_channel(message, body_channel)
        super().__init__(scope, io.BytesIO(body))
        self.META["SERVER_PROTOCOL"] = "HTTP/" + str(content.get("http_version") or "1.1")
        self.META["wsgi.url_scheme"] = self.scheme

    @staticmethod
    def scope_from_message(content: dict) -> dict:
        """Return the ASGI 3 HTTP scope equivalent to an ``http.request`` message.

        The message is read by :func:`channels_test.asgi1.http_request_scope`,
        the same reader and checks for every ``http.request``.
        """
        return http_request_scope(content, stacklevel=4)

    def read_body_channel(self, message: Any, body_channel: str) -> bytes:
        """Read body chunks from ``body_channel`` until one has no ``more_content``."""
        layer = message.channel_layer
        deadline = time.monotonic() + self.body_receive_timeout
        chunks = []
        while True:
            channel, chunk = layer.receive([body_channel], block=True)
            if channel is None:
                if time.monotonic() > deadline:
                    raise RequestTimeout(
                        f"No request body chunk on {body_channel!r} within {self.body_receive_timeout} seconds."
                    )
                continue
            if chunk.get("closed"):
                raise RequestAborted(f"The client closed the request while sending its body ({body_channel!r}).")
            chunks.append(chunk.get("content", b""))
            if not chunk.get("more_content", False):
                return b"".join(chunks)


class _LaterResponse(http.HttpResponse):
    """Marks a view that raised :class:`ResponseLater`: nothing is sent now."""


class AsgiHandler(base.BaseHandler):
    """Run Django's request cycle on an ``http.request`` message.

    Calling the handler with a message returns an iterator of ASGI 1
    ``http.response`` messages, framed as Channels 1.x framed them: the
    first carries ``status``, ``headers`` (``(name, value)`` byte pairs, names
    in the case Django gives them, e.g. ``b"Content-Type"``) and the first
    piece of ``content``; every message but the last has
    ``more_content: True``. Content longer than ``chunk_size`` comes in
    several messages; a streaming response sends one message per part (cut
    to ``chunk_size``) and then ``{"more_content": False}``, or a single
    message if it has no parts. ``FileResponse`` reads ``file_block_size``
    bytes at a time.
    """

    request_class = AsgiRequest
    chunk_size = 512 * 1024
    file_block_size = 512 * 1024

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._load_lock = threading.Lock()

    def __call__(self, message: Any) -> Iterator[dict]:
        with self._load_lock:
            if self._middleware_chain is None:
                self.load_middleware()
        signals.request_started.send(sender=self.__class__, message=message)
        try:
            request = self.request_class(message)
        except UnicodeDecodeError:
            logger.warning(
                "Bad Request (UnicodeDecodeError): the http.request message for %r has text that is not UTF-8.",
                message.get("path"),
                exc_info=True,
                extra={"status_code": 400},
            )
            response = http.HttpResponseBadRequest("Bad Request: the request is not valid UTF-8.")
        except MalformedMessage as error:
            logger.error("Malformed http.request message: %s", error, extra={"status_code": 400})
            response = http.HttpResponseBadRequest(f"Bad Request: {error}")
        except RequestTimeout:
            response = http.HttpResponse("408 Request Timeout (the upload was too slow)", status=408)
        except RequestAborted:
            signals.request_finished.send(sender=self.__class__)
            return iter(())
        else:
            set_script_prefix(request.script_name or "/")
            response = self.get_response(request)
            if isinstance(response, _LaterResponse):
                response.close()
                return iter(())
            if isinstance(response, http.FileResponse):
                response.block_size = self.file_block_size
        return self._messages_then_close(response)

    def _get_response(self, request: http.HttpRequest) -> http.HttpResponseBase:
        try:
            return super()._get_response(request)
        except ResponseLater:
            return _LaterResponse()

    def process_exception_by_middleware(self, exception: Exception, request: http.HttpRequest) -> Any:
        """Let :class:`ResponseLater` pass every middleware's ``process_exception``."""
        if isinstance(exception, ResponseLater):
            raise exception
        return super().process_exception_by_middleware(exception, request)

    def _messages_then_close(self, response: http.HttpResponseBase) -> Iterator[dict]:
        try:
            yield from self.encode_response(response)
        finally:
            response.close()

    @classmethod
    def encode_response(cls, response: http.HttpResponseBase) -> Iterator[dict]:
        """Yield the ``http.response`` messages that carry ``response``."""
        message: dict = {"status": response.status_code, "headers": cls.response_headers(response)}
        if not response.streaming:
            for chunk, last in cls.chunk_bytes(response.content):
                yield {**message, "content": chunk, "more_content": not last}
                message = {}
            return
        # Iterate the response itself, not streaming_content, so that a
        # subclass overriding __iter__ is honoured. A part may be followed by
        # more, so every part's message says more_content; an empty message
        # ends the response (and is the whole response if there are no parts).
        for part in response:
            for chunk, _ in cls.chunk_bytes(part):
                yield {**message, "content": chunk, "more_content": True}
                message = {}
        yield {**message, "more_content": False}

    @staticmethod
    def response_headers(response: http.HttpResponseBase) -> list[tuple[bytes, bytes]]:
        """Return the response's headers and cookies as ``(name, value)`` byte pairs.

        Names keep Django's case (``Content-Type``, ``Set-Cookie``), as in
        Channels 1.x; the interface lower-cases them for the ASGI server.
        """
        headers = [(str(name).encode("ascii"), str(value).encode("latin1")) for name, value in response.items()]
        for cookie in response.cookies.values():
            headers.append((b"Set-Cookie", cookie.output(header="").strip().encode("latin1")))
        return headers

    @classmethod
    def chunk_bytes(cls, data: bytes) -> Iterator[tuple[bytes, bool]]:
        """Yield ``(chunk, is_last)`` pieces of at most ``chunk_size`` bytes (one for empty data)."""
        if not data:
            yield data, True
            return
        for start in range(0, len(data), cls.chunk_size):
            yield data[start : start + cls.chunk_size], start + cls.chunk_size >= len(data)


class ViewConsumer:
    """The default ``http.request`` consumer: answer with Django's views.

    Each reply goes on the message's reply channel at once (not held until
    the consumer returns), so long and streaming responses flow as they are
    made. A full reply channel is retried for ``send_timeout`` seconds.
    """

    handler_class = AsgiHandler
    send_timeout = 10.0

    def __init__(self):
        self.handler = self.handler_class()

    def __call__(self, message: Any, **kwargs: Any) -> None:
        if message.reply_channel is None:
            raise MalformedMessage(
                "http.request message has no 'reply_channel'; the response would have nowhere to go."
            )
        for reply in self.handler(message):
            self.send_reply(message, reply)

    def send_reply(self, message: Any, reply: dict) -> None:
        """Send one response message, waiting (up to ``send_timeout``) while the channel is full."""
        deadline = time.monotonic() + self.send_timeout
        while True:
            try:
                message.reply_channel.send(reply, immediately=True)
                return
            except message.channel_layer.ChannelFull:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.01)
