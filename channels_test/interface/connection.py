"""What HTTP and WebSocket connections share: the connection, its helpers, the malformed-reply log."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

from .outage import LayerDown

if TYPE_CHECKING:
    from .app import InterfaceApplication

logger = logging.getLogger("channels_test.interface")

Receive = Callable[[], Awaitable[dict]]
Send = Callable[[dict], Awaitable[None]]


def log_malformed(kind: str, channel: str, reply: Any, problem: str) -> None:
    logger.error(
        "Malformed %s reply on %r: %s. Reply: %.300r. The connection is closed; fix the consumer that sends it.",
        kind,
        channel,
        problem,
        reply,
    )


class ClientGone(Exception):
    """The client closed the connection."""


async def first_of(first: asyncio.Future, second: asyncio.Future, timeout: float | None) -> set:
    done, _ = await asyncio.wait({first, second}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    return done


class Connection:
    """One connection Daphne hands the application: its scope, its ASGI callables, its reply channel."""

    def __init__(self, app: InterfaceApplication, scope: dict, receive: Receive, send: Send):
        self.app = app
        self.scope = scope
        self.receive = receive
        self.send = send
        self.reply_channel = ""

    async def send_disconnect(self, channel: str, message: Mapping[str, Any]) -> None:
        """Tell the workers the client went away; a full channel or a layer outage drops it (logged)."""
        try:
            await self.app.send_message(channel, message)
        except self.app.channel_layer.ChannelFull:
            logger.warning("Channel %r is full; dropped the disconnect of %r.", channel, self.reply_channel)
        except LayerDown:
            pass  # logged once for the outage
