"""HTTP: one ``http.request`` message out per request, ``http.response`` messages back."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from ..asgi1 import (
    HttpRequestBodyChunk,
    check_http_reply,
    http_body_chunk,
    http_disconnect,
    http_request_from_scope,
)
from .connection import (
    ClientGone,
    Connection,
    Receive,
    Send,
    first_of,
    log_malformed,
)
from .outage import CHANNEL_FULL_RETRY_AFTER, LAYER_DOWN_RETRY_AFTER, LayerDown

if TYPE_CHECKING:
    from .app import InterfaceApplication

logger = logging.getLogger("channels_test.interface")

SEND_RETRY_INTERVAL = 0.01


class HttpConnection(Connection):
    """One HTTP request: an ``http.request`` message out, ``http.response`` messages back."""

    def __init__(self, app: InterfaceApplication, scope: dict, receive: Receive, send: Send):
        super().__init__(app, scope, receive, send)
        self.started = False

    async def run(self) -> None:
        chunk_size = self.app.body_chunk_size
        try:
            body, more_body = await self.read_body(chunk_size)
        except ClientGone:
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
                raise ClientGone()
            chunk = event.get("body", b"")
            chunks.append(chunk)
            size += len(chunk)
            more_body = event.get("more_body", False)
        return b"".join(chunks), more_body

    def request_message(self, body: bytes) -> dict:
        """Return the ``http.request`` message for this request (without a body channel)."""
        return dict(http_request_from_scope(self.scope, self.reply_channel, body))

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
            logger.warning(
                "Channel 'http.request' is full; answering 503 to %s %s.", self.scope["method"], self.scope["path"]
            )
            await self.respond(
                503,
                "503 Service Unavailable: the server is busy; try again later.",
                headers=[(b"retry-after", str(CHANNEL_FULL_RETRY_AFTER).encode("ascii"))],
            )
            return False
        except LayerDown:
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
                chunk_message = http_body_chunk(chunk, more_content=not last)
                if not await self.send_chunk(body_channel, chunk_message):
                    return False
                if last:
                    return True
            if not more_body:  # the body ended exactly at a chunk boundary before
                return await self.send_chunk(body_channel, http_body_chunk(b"", more_content=False))
            event = await self.receive()
            if event["type"] == "http.disconnect":
                await self.send_chunk(body_channel, http_body_chunk(b"", more_content=False, closed=True))
                await self.client_gone()
                return False
            buffer += event.get("body", b"")
            more_body = event.get("more_body", False)

    async def send_chunk(self, body_channel: str, chunk: HttpRequestBodyChunk) -> bool:
        """Send one body chunk, waiting (up to ``http_timeout``) while the channel is full."""
        layer = self.app.channel_layer
        deadline = asyncio.get_running_loop().time() + self.app.http_timeout
        while True:
            try:
                await self.app.send_message(body_channel, chunk)
                return True
            except LayerDown:
                await self.respond_layer_down()
                return False
            except layer.ChannelFull:
                if asyncio.get_running_loop().time() > deadline:
                    logger.warning(
                        "Body channel %r stayed full for %s s; answering 503.", body_channel, self.app.http_timeout
                    )
                    await self.respond(503, "503 Service Unavailable: the request body could not be delivered.")
                    return False
                await asyncio.sleep(SEND_RETRY_INTERVAL)

    async def relay(self, replies: asyncio.Queue) -> None:
        """Send the response messages to the client as they arrive, until the last one."""
        disconnect = asyncio.ensure_future(self.receive())
        try:
            while True:
                reply_next = asyncio.ensure_future(replies.get())
                done = await first_of(reply_next, disconnect, self.app.http_timeout)
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
            log_malformed("HTTP response", self.reply_channel, reply, problem)
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
            self.reply_channel,
            timeout,
            self.scope["method"],
            self.scope["path"],
            "ending the response early" if self.started else "answering 504",
        )
        if self.started:
            await self.send({"type": "http.response.body", "body": b"", "more_body": False})
        else:
            await self.respond(504, f"504 Gateway Timeout: no response within {timeout:g} seconds.")

    async def client_gone(self) -> None:
        """Tell the workers the client went away before the response was complete."""
        await self.send_disconnect("http.disconnect", http_disconnect(self.reply_channel, self.scope["path"]))

    async def respond_layer_down(self) -> None:
        """Answer 503 with ``Retry-After``: the layer is down (logged once per outage)."""
        await self.respond(
            503,
            "503 Service Unavailable: the server cannot reach its channel layer; try again later.",
            headers=[(b"retry-after", str(LAYER_DOWN_RETRY_AFTER).encode("ascii"))],
        )

    async def respond(self, status: int, text: str, *, headers: list | None = None) -> None:
        """Answer with a plain-text response of our own (and any extra ``headers``)."""
        body = text.encode("utf-8")
        await self.send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"text/plain; charset=utf-8"),
                    (b"content-length", str(len(body)).encode("ascii")),
                    *(headers or []),
                ],
            }
        )
        await self.send({"type": "http.response.body", "body": body, "more_body": False})
        self.started = True
