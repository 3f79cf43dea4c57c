"""WebSocket: ``websocket.connect``/``receive``/``disconnect`` out, ``websocket.send!`` replies back."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any, NamedTuple

from ..asgi1 import (
    check_websocket_reply,
    websocket_connect_from_scope,
    websocket_disconnect,
    websocket_receive,
)
from .connection import Connection, Receive, Send, log_malformed
from .outage import CloseCodeRefused, LayerDown

if TYPE_CHECKING:
    from .app import InterfaceApplication

logger = logging.getLogger("channels_test.interface")


class ClientEvent(NamedTuple):
    """An event from the client (or the error reading it), waiting in the inbox among the replies."""

    event: dict
    error: Exception | None = None


class WebsocketConnection(Connection):
    """One WebSocket: ``websocket.*`` messages out, ``websocket.send!`` replies back.

    Replies and the client's events arrive in one queue, the inbox: the
    reply channel's queue, into which :meth:`pump` also puts each client
    event as a :class:`ClientEvent`. Waiting on one queue, a reply reaches
    the connection in one step of the event loop, where waiting on two
    (``asyncio.wait``) takes three and a new task per event.
    """

    def __init__(self, app: InterfaceApplication, scope: dict, receive: Receive, send: Send):
        super().__init__(app, scope, receive, send)
        self.order = 0
        self.accepted = False
        self.buffered: list[dict] = []

    async def run(self) -> None:
        event = await self.receive()
        if event["type"] != "websocket.connect":
            return
        self.reply_channel, inbox = await self.app.open_reply_channel(self.app.receiver.websocket_prefix)
        pump = asyncio.ensure_future(self.pump(inbox))
        try:
            if await self.connect(inbox):
                await self.relay(inbox)
        finally:
            pump.cancel()
            self.app.receiver.unregister(self.reply_channel)

    async def pump(self, inbox: asyncio.Queue) -> None:
        """Put the client's events in ``inbox`` as they come, until it disconnects."""
        while True:
            try:
                event = await self.receive()
            except Exception as error:  # the connection raises it where it would have read the event
                inbox.put_nowait(ClientEvent({}, error))
                return
            inbox.put_nowait(ClientEvent(event))
            if event["type"] == "websocket.disconnect":
                return

    @staticmethod
    def client_event(item: ClientEvent) -> dict:
        if item.error is not None:
            raise item.error
        return item.event

    def connect_message(self) -> dict:
        """Return the ``websocket.connect`` message for this socket."""
        return dict(websocket_connect_from_scope(self.scope, self.reply_channel, self.order))

    async def connect(self, inbox: asyncio.Queue) -> bool:
        """Send ``websocket.connect`` and wait for the consumer's verdict; return True if accepted."""
        layer = self.app.channel_layer
        try:
            await self.app.send_message("websocket.connect", self.connect_message())
        except layer.ChannelFull:
            logger.warning("Channel 'websocket.connect' is full; rejecting a connection to %s.", self.scope["path"])
            await self.send({"type": "websocket.close"})
            return False
        except LayerDown:
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
            remaining = deadline - asyncio.get_running_loop().time()
            try:
                item = inbox.get_nowait() if not inbox.empty() else await asyncio.wait_for(inbox.get(), remaining)
            except asyncio.TimeoutError:
                break
            if type(item) is not ClientEvent:
                return await self.verdict(item)
            event = self.client_event(item)
            if event["type"] == "websocket.disconnect":
                await self.disconnected(event.get("code", 1006))
                return False
            self.buffered.append(event)  # keep early frames for after acceptance
        logger.warning(
            "No reply to websocket.connect on %r within %s s; rejecting the connection to %s. "
            "Is a worker running (manage.py runworker) and listening on 'websocket.connect'?",
            self.reply_channel,
            timeout,
            self.scope["path"],
        )
        await self.reject()
        return False

    async def verdict(self, reply: Any) -> bool:
        """Act on the first reply: accept (and apply the rest of it) or reject."""
        problem = check_websocket_reply(reply)
        if problem:
            log_malformed("WebSocket", self.reply_channel, reply, problem)
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

    async def relay(self, inbox: asyncio.Queue) -> None:
        """Carry frames both ways until either side closes."""
        for event in self.buffered:
            if not await self.from_client(event):
                return
        self.buffered.clear()
        while True:
            item = await inbox.get()
            if type(item) is ClientEvent:
                if not await self.from_client(self.client_event(item)):
                    return
                continue
            problem = check_websocket_reply(item)
            if problem:
                log_malformed("WebSocket", self.reply_channel, item, problem)
                await self.close(1011)
                return
            if not await self.apply(item):
                return

    async def from_client(self, event: dict) -> bool:
        """Send a client event to the layer; return False once the connection is over."""
        if event["type"] == "websocket.disconnect":
            await self.disconnected(event.get("code", 1006))
            return False
        message = websocket_receive(
            self.reply_channel,
            self.scope["path"],
            self.order,
            text=event.get("text"),
            data=event.get("bytes"),
        )
        try:
            await self.app.send_message("websocket.receive", message)
        except self.app.channel_layer.ChannelFull:
            logger.warning(
                "Channel 'websocket.receive' is full; closing %r with 1013 (try again later).", self.reply_channel
            )
            await self.close(1013)
            return False
        except LayerDown:
            await self.close(1013, logged=True)
            return False
        self.order += 1
        return True

    async def disconnected(self, code: int) -> None:
        """Send ``websocket.disconnect`` (once) to the workers."""
        if self.order < 0:
            return
        message = websocket_disconnect(self.reply_channel, self.scope["path"], self.order, code)
        self.order = -1
        await self.send_disconnect("websocket.disconnect", message)
