"""The ASGI 3 application an ASGI server (Daphne) serves: connections <-> channel layer.

Each HTTP request becomes one ``http.request`` message, each WebSocket event
a ``websocket.connect`` / ``websocket.receive`` / ``websocket.disconnect``
message, in the ASGI 1 format the workers' consumers expect. Replies come
back on reply channels this process makes (``http.response.<process>!…`` and
``websocket.send.<process>!…``); one thread receives them all and hands each
to its connection, so idle connections cost no polling.

A project's ``asgi.py``::

    import os
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "myproject.settings")
    django.setup()

    from channels_test.interface import application  # noqa: E402

and ``daphne myproject.asgi:application`` serves it, while
``manage.py runworker`` processes run the consumers.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import string
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Awaitable, Callable

from django.conf import settings

from .channel import DEFAULT_CHANNEL_LAYER
from .layers.base import process_local_name

__all__ = [
    "InterfaceApplication",
    "ReplyReceiver",
    "application",
    "get_interface_application",
    "check_http_reply",
    "check_websocket_reply",
    "CloseCodeRefused",
]

logger = logging.getLogger("channels_test.interface")

Receive = Callable[[], Awaitable[dict]]
Send = Callable[[dict], Awaitable[None]]

DEFAULT_HTTP_TIMEOUT = 120.0
DEFAULT_CONNECT_TIMEOUT = 15.0
DEFAULT_BODY_CHUNK_SIZE = 256 * 1024
SEND_RETRY_INTERVAL = 0.01
#: Seconds a client is told to wait (``Retry-After``) while the layer is down.
LAYER_DOWN_RETRY_AFTER = 5


class LayerOutage:
    """Log a channel-layer outage once as it starts and once as it ends, from any thread.

    ``source`` tells sends from the reply thread's receives: only the kind of
    call that saw the outage start can end it, so with a layer of several
    Redis servers, where one kind may fail while the other works, the log
    does not flap.
    """

    def __init__(self) -> None:
        self.since: float | None = None
        self.source = ""
        self._lock = threading.Lock()

    def started(self, error: BaseException, source: str) -> None:
        with self._lock:
            if self.since is not None:
                return
            self.since, self.source = time.monotonic(), source
        logger.error(
            "The channel layer is unavailable: %s Answering 503 to HTTP requests and closing "
            "WebSockets (1013, try again later; 1011 under Daphne) until it answers again.", error,
        )

    def over(self, source: str) -> None:
        if self.since is None:
            return
        with self._lock:
            if self.since is None or self.source != source:
                return
            seconds, self.since = time.monotonic() - self.since, None
        logger.warning("The channel layer answers again after %.1f s.", seconds)


class _LayerDown(Exception):
    """A send to the layer failed because the layer is down (logged once per outage)."""


def layer_errors(layer: Any) -> tuple:
    """Return the exception classes by which ``layer`` says it is down, not that a call was wrong."""
    unavailable = getattr(layer, "Unavailable", None)
    if isinstance(unavailable, type) and not issubclass(unavailable, ConnectionError):
        return (ConnectionError, unavailable)
    return (ConnectionError,)


class _QuietRefusedCloses(logging.Filter):
    """Drop the ASGI server's traceback for a close it refused that the interface logged already."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        return not (isinstance(error, CloseCodeRefused) and error.logged)


class ReplyReceiver:
    """Receive every reply for this process in one thread; route each to its connection.

    Reply channels are made with ``process_local_name`` on two process-unique prefixes
    (``http.response.<id>!`` and ``websocket.send.<id>!``); the thread blocks
    on ``receive`` for both prefixes and hands each message to the asyncio
    queue of the connection that owns the channel. Messages for channels no
    connection owns any more (closed, timed out) are dropped with a debug log.
    """

    def __init__(self, channel_layer: Any, outage: LayerOutage | None = None):
        self.channel_layer = channel_layer
        self.outage = outage or LayerOutage()
        self._down_errors = layer_errors(channel_layer)
        process = "".join(secrets.choice(string.ascii_letters) for _ in range(12))
        self.http_prefix = f"http.response.{process}!"
        self.websocket_prefix = f"websocket.send.{process}!"
        self.names = (self.http_prefix, self.websocket_prefix)
        self.connections: dict[str, tuple[asyncio.AbstractEventLoop, asyncio.Queue]] = {}
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def register(self, name: str) -> asyncio.Queue:
        """Return the queue that gets every message sent to ``name`` from now on."""
        queue: asyncio.Queue = asyncio.Queue()
        self.connections[name] = (asyncio.get_running_loop(), queue)
        self._ensure_thread()
        return queue

    def unregister(self, name: str) -> None:
        """Stop delivering messages for ``name``; later ones are dropped."""
        self.connections.pop(name, None)

    def _ensure_thread(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self.stopping.clear()
                self._thread = threading.Thread(
                    target=self.run, name="channels-interface-replies", daemon=True
                )
                self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Ask the thread to end and wait for it (its blocking receive returns within ~1 s)."""
        self.stopping.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def run(self) -> None:
        """Receive replies until :meth:`stop`; a layer error is logged and retried."""
        while not self.stopping.is_set():
            try:
                channel, message = self.channel_layer.receive(self.names, block=True)
            except self._down_errors as error:
                self.outage.started(error, "receive")
                self.stopping.wait(0.5)
                continue
            except Exception:
                logger.exception("Receiving replies on %s failed; retrying in 1 s.", self.names)
                self.stopping.wait(1.0)
                continue
            self.outage.over("receive")
            if channel is not None:
                self.deliver(channel, message)

    def deliver(self, channel: str, message: dict) -> None:
        """Hand ``message`` to the connection owning ``channel``, if any."""
        target = self.connections.get(channel)
        if target is None:
            logger.debug("Dropping a reply on %r: its connection is gone.", channel)
            return
        loop, queue = target
        try:
            loop.call_soon_threadsafe(queue.put_nowait, message)
        except RuntimeError:  # the event loop is closed: the server is shutting down
            self.unregister(channel)


# -- replies from consumers ---------------------------------------------------

_HTTP_KEYS = frozenset({"status", "headers", "content", "more_content"})
_WEBSOCKET_KEYS = frozenset({"accept", "text", "bytes", "close"})
_CLOSE_CODES = frozenset({1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014})


def check_http_reply(reply: Any, *, first: bool) -> str | None:
    """Return what is wrong with an ``http.response`` message, or None if it is valid.

    The first message of a response must carry ``status``; ``headers`` is a
    list of ``[name, value]`` (or ``(name, value)``) byte pairs, names in any
    case, ``content`` bytes, ``more_content`` a bool.
    """
    if not isinstance(reply, dict):
        return f"a response message must be a dict, not {type(reply).__name__}"
    unknown = sorted(set(reply) - _HTTP_KEYS)
    if unknown:
        return f"unknown key(s) {', '.join(map(repr, unknown))} (allowed: {', '.join(sorted(_HTTP_KEYS))})"
    status = reply.get("status")
    if first and status is None:
        return "the first response message has no 'status'"
    if status is not None and (isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 999):
        return f"'status' must be an int from 100 to 999, not {status!r}"
    headers = reply.get("headers", [])
    if not isinstance(headers, (list, tuple)):
        return f"'headers' must be a list of [name, value] byte pairs, not {headers!r}"
    for pair in headers:
        if not isinstance(pair, (list, tuple)) or len(pair) != 2 or not all(isinstance(part, bytes) for part in pair):
            return f"'headers' items must be [name, value] byte pairs, e.g. [b'content-type', b'text/plain'], not {pair!r}"
    if not isinstance(reply.get("content", b""), bytes):
        return f"'content' must be bytes, not {type(reply['content']).__name__}"
    if not isinstance(reply.get("more_content", False), bool):
        return f"'more_content' must be a bool, not {reply['more_content']!r}"
    return None


def check_websocket_reply(reply: Any) -> str | None:
    """Return what is wrong with a ``websocket.send!`` reply, or None if it is valid.

    Allowed keys: ``accept`` (bool), ``text`` (str), ``bytes`` (bytes), not
    both ``text`` and ``bytes``, ``close`` (bool or a close code).
    """
    if not isinstance(reply, dict):
        return f"a reply must be a dict, not {type(reply).__name__}"
    unknown = sorted(set(reply) - _WEBSOCKET_KEYS)
    if unknown:
        return f"unknown key(s) {', '.join(map(repr, unknown))} (allowed: accept, bytes, close, text)"
    if not reply:
        return "the reply is empty (send accept, text, bytes or close)"
    if "accept" in reply and not isinstance(reply["accept"], bool):
        return f"'accept' must be True or False, not {reply['accept']!r}"
    text, data = reply.get("text"), reply.get("bytes")
    if text is not None and not isinstance(text, str):
        return f"'text' must be a str, not {type(text).__name__} {text!r}"
    if data is not None and not isinstance(data, bytes):
        return f"'bytes' must be bytes, not {type(data).__name__}"
    if text is not None and data is not None:
        return "a reply carries 'text' or 'bytes', not both"
    close = reply.get("close", False)
    if not isinstance(close, bool) and not (
        isinstance(close, int) and (close in _CLOSE_CODES or 3000 <= close <= 4999)
    ):
        return f"'close' must be True, False or a close code (1000, 1001-1014, 3000-4999), not {close!r}"
    return None


def _log_malformed(kind: str, channel: str, reply: Any, problem: str) -> None:
    logger.error(
        "Malformed %s reply on %r: %s. Reply: %.300r. The connection is closed; fix the "
        "consumer that sends it.", kind, channel, problem, reply,
    )


class CloseCodeRefused(RuntimeError):
    """The ASGI server would not close a WebSocket with the code asked for.

    ``logged`` is True when the interface has logged the reason already
    (the layer is down): the server's own traceback for it is then dropped.
    """

    logged = False


class _ClientGone(Exception):
    """The client closed the connection."""


async def _first_of(first: asyncio.Future, second: asyncio.Future, timeout: float | None) -> set:
    done, _ = await asyncio.wait({first, second}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    return done


def _address(value: Any) -> list | None:
    return None if value is None else list(value)


# -- HTTP -------------------------------------------------------------------------


class Connection:
    """One connection Daphne hands the application: its scope, its ASGI callables, its reply channel."""

    def __init__(self, app: "InterfaceApplication", scope: dict, receive: Receive, send: Send):
        self.app = app
        self.scope = scope
        self.receive = receive
        self.send = send
        self.reply_channel = ""


class HttpConnection(Connection):
    """One HTTP request: an ``http.request`` message out, ``http.response`` messages back."""

    def __init__(self, app: "InterfaceApplication", scope: dict, receive: Receive, send: Send):
        super().__init__(app, scope, receive, send)
        self.started = False

    async def run(self) -> None:
        chunk_size = self.app.body_chunk_size
        try:
            body, more_body = await self.read_body(chunk_size)
        except _ClientGone:
            return  # gone before the request was complete: nothing to tell the workers
        self.reply_channel, replies = await self.app.open_reply_channel(self.app.receiver.http_prefix)
        try:
            if await self.send_request(body, more_body, chunk_size):
                await self.relay(replies)
        finally:
            self.app.receiver.unregister(self.reply_channel)

    async def read_body(self, limit: int) -> tuple[bytes, bool]:
        """Read the body until it exceeds ``limit`` or ends; return it and whether more follows."""
        chunks, size, more_body = [], 0, True
        while more_body and size <= limit:
            event = await self.receive()
            if event["type"] == "http.disconnect":
                raise _ClientGone()
            chunk = event.get("body", b"")
            chunks.append(chunk)
            size += len(chunk)
            more_body = event.get("more_body", False)
        return b"".join(chunks), more_body

    def request_message(self, body: bytes) -> dict:
        """Return the ``http.request`` message for this request (without a body channel)."""
        scope = self.scope
        return {
            "reply_channel": self.reply_channel,
            "http_version": scope.get("http_version", "1.1"),
            "method": scope["method"],
            "scheme": scope.get("scheme", "http"),
            "path": scope["path"],
            "query_string": scope.get("query_string", b""),
            "root_path": scope.get("root_path", ""),
            "headers": [[bytes(name).lower(), bytes(value)] for name, value in scope.get("headers", [])],
            "body": body,
            "client": _address(scope.get("client")),
            "server": _address(scope.get("server")),
        }

    async def send_request(self, body: bytes, more_body: bool, chunk_size: int) -> bool:
        """Send the request (and its body chunks); return False if it could not be delivered."""
        layer = self.app.channel_layer
        message = self.request_message(body[:chunk_size])
        rest = body[chunk_size:]
        if rest or more_body:
            message["body_channel"] = await self.app.call_layer(layer.new_channel, "http.request.body?")
        try:
            await self.app.send_message("http.request", message)
        except layer.ChannelFull:
            logger.warning("Channel 'http.request' is full; answering 503 to %s %s.",
                           self.scope["method"], self.scope["path"])
            await self.respond(503, "503 Service Unavailable: the server is busy; try again later.")
            return False
        except _LayerDown:
            await self.respond_layer_down()
            return False
        if "body_channel" in message:
            return await self.send_body(message["body_channel"], rest, more_body, chunk_size)
        return True

    async def send_body(self, body_channel: str, rest: bytes, more_body: bool, chunk_size: int) -> bool:
        """Send the rest of the body on ``body_channel`` in chunks of ``chunk_size``."""
        buffer = rest
        while True:
            while len(buffer) > chunk_size or (buffer and not more_body):
                chunk, buffer = buffer[:chunk_size], buffer[chunk_size:]
                last = not buffer and not more_body
                chunk_message = {"content": chunk, "closed": False, "more_content": not last}
                if not await self.send_chunk(body_channel, chunk_message):
                    return False
                if last:
                    return True
            if not more_body:  # the body ended exactly at a chunk boundary before
                return await self.send_chunk(body_channel, {"content": b"", "closed": False, "more_content": False})
            event = await self.receive()
            if event["type"] == "http.disconnect":
                await self.send_chunk(body_channel, {"content": b"", "closed": True, "more_content": False})
                await self.client_gone()
                return False
            buffer += event.get("body", b"")
            more_body = event.get("more_body", False)

    async def send_chunk(self, body_channel: str, chunk: dict) -> bool:
        """Send one body chunk, waiting (up to ``http_timeout``) while the channel is full."""
        layer = self.app.channel_layer
        deadline = asyncio.get_running_loop().time() + self.app.http_timeout
        while True:
            try:
                await self.app.send_message(body_channel, chunk)
                return True
            except _LayerDown:
                await self.respond_layer_down()
                return False
            except layer.ChannelFull:
                if asyncio.get_running_loop().time() > deadline:
                    logger.warning("Body channel %r stayed full for %s s; answering 503.",
                                   body_channel, self.app.http_timeout)
                    await self.respond(503, "503 Service Unavailable: the request body could not be delivered.")
                    return False
                await asyncio.sleep(SEND_RETRY_INTERVAL)

    async def relay(self, replies: asyncio.Queue) -> None:
        """Send the response messages to the client as they arrive, until the last one."""
        disconnect = asyncio.ensure_future(self.receive())
        try:
            while True:
                reply_next = asyncio.ensure_future(replies.get())
                done = await _first_of(reply_next, disconnect, self.app.http_timeout)
                if reply_next not in done:
                    reply_next.cancel()
                    if disconnect in done:
                        await self.client_gone()
                    else:
                        await self.timed_out()
                    return
                if not await self.forward(reply_next.result()):
                    return
        finally:
            disconnect.cancel()

    async def forward(self, reply: Any) -> bool:
        """Send one ``http.response`` message to the client; return True if more follow."""
        problem = check_http_reply(reply, first=not self.started)
        if problem:
            _log_malformed("HTTP response", self.reply_channel, reply, problem)
            if self.started:
                await self.send({"type": "http.response.body", "body": b"", "more_body": False})
            else:
                await self.respond(500, "500 Internal Server Error: the application sent a malformed response.")
            return False
        if not self.started:
            # Workers send names in Django's case (b"Content-Type"), as Channels
            # 1.x did; ASGI 3 servers take them lower-case.
            headers = [(bytes(name).lower(), bytes(value)) for name, value in reply.get("headers", [])]
            await self.send({"type": "http.response.start", "status": reply["status"], "headers": headers})
            self.started = True
        more = reply.get("more_content", False)
        await self.send({"type": "http.response.body", "body": reply.get("content", b""), "more_body": more})
        return more

    async def timed_out(self) -> None:
        timeout = self.app.http_timeout
        logger.warning(
            "No response message on %r within %s s for %s %s; %s. Is a worker running "
            "(manage.py runworker) and listening on 'http.request'?",
            self.reply_channel, timeout, self.scope["method"], self.scope["path"],
            "ending the response early" if self.started else "answering 504",
        )
        if self.started:
            await self.send({"type": "http.response.body", "body": b"", "more_body": False})
        else:
            await self.respond(504, f"504 Gateway Timeout: no response within {timeout:g} seconds.")

    async def client_gone(self) -> None:
        """Tell the workers the client went away before the response was complete."""
        message = {"reply_channel": self.reply_channel, "path": self.scope["path"]}
        try:
            await self.app.send_message("http.disconnect", message)
        except self.app.channel_layer.ChannelFull:
            logger.warning("Channel 'http.disconnect' is full; dropped the disconnect of %r.", self.reply_channel)
        except _LayerDown:
            pass  # logged once for the outage

    async def respond_layer_down(self) -> None:
        """Answer 503 with ``Retry-After``: the layer is down (logged once per outage)."""
        await self.respond(
            503, "503 Service Unavailable: the server cannot reach its channel layer; "
                 "try again later.",
            headers=[(b"retry-after", str(LAYER_DOWN_RETRY_AFTER).encode("ascii"))],
        )

    async def respond(self, status: int, text: str, *, headers: list | None = None) -> None:
        """Answer with a plain-text response of our own (and any extra ``headers``)."""
        body = text.encode("utf-8")
        await self.send({
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                        (b"content-length", str(len(body)).encode("ascii")),
                        *(headers or [])],
        })
        await self.send({"type": "http.response.body", "body": body, "more_body": False})
        self.started = True


# -- WebSocket ----------------------------------------------------------------------


class WebsocketConnection(Connection):
    """One WebSocket: ``websocket.*`` messages out, ``websocket.send!`` replies back."""

    def __init__(self, app: "InterfaceApplication", scope: dict, receive: Receive, send: Send):
        super().__init__(app, scope, receive, send)
        self.order = 0
        self.accepted = False
        self.buffered: list[dict] = []
        self.client_next: asyncio.Future | None = None

    async def run(self) -> None:
        event = await self.receive()
        if event["type"] != "websocket.connect":
            return
        self.reply_channel, replies = await self.app.open_reply_channel(self.app.receiver.websocket_prefix)
        self.client_next = asyncio.ensure_future(self.receive())
        try:
            if await self.connect(replies):
                await self.relay(replies)
        finally:
            self.client_next.cancel()
            self.app.receiver.unregister(self.reply_channel)

    def base_message(self) -> dict:
        return {"reply_channel": self.reply_channel, "path": self.scope["path"], "order": self.order}

    def connect_message(self) -> dict:
        scope = self.scope
        return {
            **self.base_message(),
            "headers": [[bytes(name).lower(), bytes(value)] for name, value in scope.get("headers", [])],
            "query_string": scope.get("query_string", b""),
            "root_path": scope.get("root_path", ""),
            "scheme": scope.get("scheme", "ws"),
            "client": _address(scope.get("client")),
            "server": _address(scope.get("server")),
        }

    async def connect(self, replies: asyncio.Queue) -> bool:
        """Send ``websocket.connect`` and wait for the consumer's verdict; return True if accepted."""
        layer = self.app.channel_layer
        try:
            await self.app.send_message("websocket.connect", self.connect_message())
        except layer.ChannelFull:
            logger.warning("Channel 'websocket.connect' is full; rejecting a connection to %s.", self.scope["path"])
            await self.send({"type": "websocket.close"})
            return False
        except _LayerDown:
            # A rejected handshake would tell the client nothing; accept it and
            # close with a code it can act on. The workers never heard of it.
            self.order = -1
            await self.send({"type": "websocket.accept"})
            await self.close(1013, logged=True)
            return False
        self.order = 1
        timeout = self.app.connect_timeout
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            reply_next = asyncio.ensure_future(replies.get())
            remaining = max(0.0, deadline - asyncio.get_running_loop().time())
            done = await _first_of(reply_next, self.client_next, remaining)
            if reply_next in done:
                return await self.verdict(reply_next.result())
            reply_next.cancel()
            if self.client_next in done:
                event = self.client_next.result()
                if event["type"] == "websocket.disconnect":
                    await self.disconnected(event.get("code", 1006))
                    return False
                self.buffered.append(event)  # keep early frames for after acceptance
                self.client_next = asyncio.ensure_future(self.receive())
                continue
            logger.warning(
                "No reply to websocket.connect on %r within %s s; rejecting the connection to %s. "
                "Is a worker running (manage.py runworker) and listening on 'websocket.connect'?",
                self.reply_channel, timeout, self.scope["path"],
            )
            await self.reject()
            return False

    async def verdict(self, reply: Any) -> bool:
        """Act on the first reply: accept (and apply the rest of it) or reject."""
        problem = check_websocket_reply(reply)
        if problem:
            _log_malformed("WebSocket", self.reply_channel, reply, problem)
            await self.reject()
            return False
        # {"accept": False} rejects even when it carries a frame (the frame is dropped).
        accepts = reply.get("accept") is not False and (
            reply.get("accept") is True
            or reply.get("text") is not None
            or reply.get("bytes") is not None
            or reply.get("close") is False
        )
        if not accepts:
            await self.reject()
            return False
        await self.send({"type": "websocket.accept"})
        self.accepted = True
        return await self.apply(reply)

    async def reject(self) -> None:
        """Refuse the handshake (the server answers 403) and tell the workers."""
        await self.send({"type": "websocket.close"})
        await self.disconnected(1006)

    async def apply(self, reply: dict) -> bool:
        """Send a valid reply's frame and close; return False once closed."""
        if reply.get("text") is not None:
            await self.send({"type": "websocket.send", "text": reply["text"]})
        elif reply.get("bytes") is not None:
            await self.send({"type": "websocket.send", "bytes": reply["bytes"]})
        close = reply.get("close", False)
        if close is False:
            return True
        await self.close(1000 if close is True else close)
        return False

    async def close(self, code: int, *, logged: bool = False) -> None:
        """Close the socket with ``code`` and tell the workers.

        Daphne lets an application close only with 1000 or 3000-4999; when the
        server refuses ``code`` (1011, 1013, ...), raise so that the server
        closes the socket itself, with its own error code (1011 in Daphne).
        ``logged``: the reason is logged already, so the server's traceback
        for the refusal is dropped.
        """
        await self.disconnected(code)
        try:
            await self.send({"type": "websocket.close", "code": code})
        except Exception as error:
            refused = CloseCodeRefused(
                f"The server refused to close {self.reply_channel!r} with code {code} ({error}); "
                "ending the connection with the server's own error close instead."
            )
            refused.logged = logged
            raise refused from error

    async def relay(self, replies: asyncio.Queue) -> None:
        """Carry frames both ways until either side closes."""
        for event in self.buffered:
            if not await self.from_client(event):
                return
        self.buffered.clear()
        while True:
            reply_next = asyncio.ensure_future(replies.get())
            done = await _first_of(reply_next, self.client_next, None)
            if reply_next in done:
                reply = reply_next.result()
                problem = check_websocket_reply(reply)
                if problem:
                    _log_malformed("WebSocket", self.reply_channel, reply, problem)
                    await self.close(1011)
                    return
                if not await self.apply(reply):
                    return
            else:
                reply_next.cancel()
            if self.client_next.done():
                event = self.client_next.result()
                if not await self.from_client(event):
                    return
                self.client_next = asyncio.ensure_future(self.receive())

    async def from_client(self, event: dict) -> bool:
        """Send a client event to the layer; return False once the connection is over."""
        if event["type"] == "websocket.disconnect":
            await self.disconnected(event.get("code", 1006))
            return False
        message = self.base_message()
        if event.get("text") is not None:
            message["text"] = event["text"]
        else:
            message["bytes"] = event.get("bytes") or b""
        try:
            await self.app.send_message("websocket.receive", message)
        except self.app.channel_layer.ChannelFull:
            logger.warning("Channel 'websocket.receive' is full; closing %r with 1013 (try again later).",
                           self.reply_channel)
            await self.close(1013)
            return False
        except _LayerDown:
            await self.close(1013, logged=True)
            return False
        self.order += 1
        return True

    async def disconnected(self, code: int) -> None:
        """Send ``websocket.disconnect`` (once) to the workers."""
        if self.order < 0:
            return
        message = {**self.base_message(), "code": code}
        self.order = -1
        try:
            await self.app.send_message("websocket.disconnect", message)
        except self.app.channel_layer.ChannelFull:
            logger.warning("Channel 'websocket.disconnect' is full; dropped the disconnect of %r.",
                           self.reply_channel)
        except _LayerDown:
            pass  # logged once for the outage


# -- the application ---------------------------------------------------------------


def _setting(name: str, default: Any) -> Any:
    return getattr(settings, name, default)


def _positive(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise ValueError(f"{name} must be a positive number of seconds, not {value!r}.")
    return float(value)


class InterfaceApplication:
    """An ASGI 3 application that carries connections over a channel layer.

    ``alias`` names the ``CHANNEL_LAYERS`` entry (default ``"default"``).
    Options, keyword-only, each defaulting to a setting:

    ``http_timeout`` (``CHANNELS_HTTP_TIMEOUT``, 120 s)
        How long to wait for each response message; past it the client gets
        504 Gateway Timeout (or, mid-response, a closed connection) and the
        reply channel is abandoned.
    ``connect_timeout`` (``CHANNELS_WEBSOCKET_CONNECT_TIMEOUT``, 15 s)
        How long a WebSocket handshake waits for the ``websocket.connect``
        consumer to accept; past it the connection is rejected.
    ``body_chunk_size`` (``CHANNELS_HTTP_BODY_CHUNK_SIZE``, 256 KiB)
        Request bodies up to this size travel in the ``http.request``
        message; longer ones send the rest in chunks of this size on a
        ``body_channel``.

    The layer is looked up on the first connection, so the module-level
    :data:`application` can be imported before Django is set up.
    """

    def __init__(
        self,
        alias: str = DEFAULT_CHANNEL_LAYER,
        *,
        http_timeout: float | None = None,
        connect_timeout: float | None = None,
        body_chunk_size: int | None = None,
        send_threads: int = 4,
    ):
        if not isinstance(alias, str):
            raise TypeError(f"alias must be a CHANNEL_LAYERS name (str), not {alias!r}.")
        self.alias = alias
        self._http_timeout = None if http_timeout is None else _positive("http_timeout", http_timeout)
        self._connect_timeout = (
            None if connect_timeout is None else _positive("connect_timeout", connect_timeout)
        )
        if body_chunk_size is not None and (not isinstance(body_chunk_size, int) or body_chunk_size < 1):
            raise ValueError(f"body_chunk_size must be a positive int, not {body_chunk_size!r}.")
        self._body_chunk_size = body_chunk_size
        self.send_threads = send_threads
        self._wrapper: Any = None
        self._receiver: ReplyReceiver | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._setup_lock = threading.Lock()
        self.outage = LayerOutage()
        self._down_errors: tuple = (ConnectionError,)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} alias={self.alias!r}>"

    # -- configuration ------------------------------------------------------

    @property
    def http_timeout(self) -> float:
        if self._http_timeout is not None:
            return self._http_timeout
        return _positive("CHANNELS_HTTP_TIMEOUT", _setting("CHANNELS_HTTP_TIMEOUT", DEFAULT_HTTP_TIMEOUT))

    @property
    def connect_timeout(self) -> float:
        if self._connect_timeout is not None:
            return self._connect_timeout
        return _positive(
            "CHANNELS_WEBSOCKET_CONNECT_TIMEOUT",
            _setting("CHANNELS_WEBSOCKET_CONNECT_TIMEOUT", DEFAULT_CONNECT_TIMEOUT),
        )

    @property
    def body_chunk_size(self) -> int:
        if self._body_chunk_size is not None:
            return self._body_chunk_size
        return int(_setting("CHANNELS_HTTP_BODY_CHUNK_SIZE", DEFAULT_BODY_CHUNK_SIZE))

    @property
    def channel_layer(self) -> Any:
        """The channel layer this application serves (looked up once)."""
        self._setup()
        return self._wrapper.channel_layer

    @property
    def receiver(self) -> ReplyReceiver:
        self._setup()
        return self._receiver

    def _setup(self) -> None:
        if self._receiver is not None:
            return
        with self._setup_lock:
            if self._receiver is None:
                from .asgi import channel_layers

                wrapper = channel_layers[self.alias]
                self._wrapper = wrapper
                if not wrapper.local_only():
                    self._executor = ThreadPoolExecutor(
                        self.send_threads, thread_name_prefix="channels-interface-send"
                    )
                self._down_errors = layer_errors(wrapper.channel_layer)
                self._receiver = ReplyReceiver(wrapper.channel_layer, self.outage)
                _quiet_server_tracebacks()

    def close(self) -> None:
        """Stop the reply thread and the send threads; the next connection restarts them."""
        with self._setup_lock:
            if self._receiver is not None:
                self._receiver.stop()
            if self._executor is not None:
                self._executor.shutdown(wait=False)
            self._receiver = self._executor = self._wrapper = None

    # -- talking to the layer ----------------------------------------------

    async def call_layer(self, function: Callable, *args: Any) -> Any:
        """Run a synchronous layer call without blocking the event loop for long.

        The in-memory layer answers at once and is called inline; others run
        on a small thread pool.
        """
        if self._executor is None:
            return function(*args)
        return await asyncio.get_running_loop().run_in_executor(self._executor, function, *args)

    async def send_message(self, channel: str, message: dict) -> None:
        """Send ``message`` to ``channel``.

        Raises the layer's ChannelFull, or ``_LayerDown`` when the layer is
        down (logged once per outage, with the layer's error).
        """
        try:
            await self.call_layer(self.channel_layer.send, channel, message)
        except self._down_errors as error:
            self.outage.started(error, "send")
            raise _LayerDown() from error
        self.outage.over("send")

    async def open_reply_channel(self, prefix: str) -> tuple[str, asyncio.Queue]:
        """Make a reply channel on ``prefix`` and return it with its message queue."""
        name = process_local_name(prefix)
        return name, self.receiver.register(name)

    # -- ASGI ----------------------------------------------------------------

    async def __call__(self, scope: dict, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await HttpConnection(self, scope, receive, send).run()
        elif kind == "websocket":
            await WebsocketConnection(self, scope, receive, send).run()
        elif kind == "lifespan":
            await self.lifespan(receive, send)
        else:
            raise ValueError(f"Cannot serve ASGI scope type {kind!r}: only http and websocket.")

    async def lifespan(self, receive: Receive, send: Send) -> None:
        """Answer lifespan events; shutdown stops the reply thread."""
        while True:
            event = await receive()
            if event["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif event["type"] == "lifespan.shutdown":
                await asyncio.get_running_loop().run_in_executor(None, self.close)
                await send({"type": "lifespan.shutdown.complete"})
                return


def _quiet_server_tracebacks() -> None:
    """Have Daphne drop its traceback for closes the interface refused knowingly (once per process)."""
    server_logger = logging.getLogger("daphne.server")
    if not any(isinstance(existing, _QuietRefusedCloses) for existing in server_logger.filters):
        server_logger.addFilter(_QuietRefusedCloses())


def get_interface_application(alias: str = DEFAULT_CHANNEL_LAYER, **options: Any) -> InterfaceApplication:
    """Return an interface application for the layer ``alias`` (options as :class:`InterfaceApplication`)."""
    return InterfaceApplication(alias, **options)


#: The interface application for the ``"default"`` layer: ``daphne myproject.asgi:application``.
application = InterfaceApplication()
