"""The ASGI 3 application: settings, the layer calls, the executor, dispatch by scope type."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.conf import settings

from ..channel import DEFAULT_CHANNEL_LAYER
from ..layers.base import process_local_name
from .connection import Receive, Send
from .http import HttpConnection
from .outage import LayerDown, LayerOutage, layer_errors, quiet_server_tracebacks
from .replies import ReplyReceiver
from .websocket import WebsocketConnection

DEFAULT_HTTP_TIMEOUT = 120.0
DEFAULT_CONNECT_TIMEOUT = 15.0
DEFAULT_BODY_CHUNK_SIZE = 256 * 1024
# Encoded messages up to this size are sent from the event loop when the layer
# can do it without waiting (``try_send_encoded``); longer ones, which take
# longer to store, go to the send threads.
LOOP_SEND_LIMIT = 64 * 1024


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
        self._connect_timeout = None if connect_timeout is None else _positive("connect_timeout", connect_timeout)
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
        self._try_send: Callable[[str, bytes], bool] | None = None

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
        assert self._receiver is not None  # _setup() made it
        return self._receiver

    def _setup(self) -> None:
        if self._receiver is not None:
            return
        with self._setup_lock:
            if self._receiver is None:
                from ..asgi import channel_layers

                wrapper = channel_layers[self.alias]
                self._wrapper = wrapper
                if not wrapper.local_only():
                    self._executor = ThreadPoolExecutor(self.send_threads, thread_name_prefix="channels-interface-send")
                    self._try_send = getattr(wrapper.channel_layer, "try_send_encoded", None)
                self._down_errors = layer_errors(wrapper.channel_layer)
                self._receiver = ReplyReceiver(wrapper.channel_layer, self.outage)
                quiet_server_tracebacks()

    def close(self) -> None:
        """Stop the reply thread and the send threads; the next connection restarts them."""
        with self._setup_lock:
            if self._receiver is not None:
                self._receiver.stop()
            if self._executor is not None:
                self._executor.shutdown(wait=False)
            self._receiver = self._executor = self._wrapper = self._try_send = None

    # -- talking to the layer ----------------------------------------------

    async def call_layer(self, function: Callable, *args: Any) -> Any:
        """Run a synchronous layer call without blocking the event loop for long.

        The in-memory layer answers at once and is called inline; others run
        on a small thread pool.
        """
        if self._executor is None:
            return function(*args)
        return await asyncio.get_running_loop().run_in_executor(self._executor, function, *args)

    async def send_message(self, channel: str, message: Mapping[str, Any]) -> None:
        """Send ``message`` to ``channel``.

        Raises the layer's ChannelFull, or ``LayerDown`` when the layer is
        down (logged once per outage, with the layer's error).
        """
        try:
            await self._send(channel, message)
        except self._down_errors as error:
            self.outage.started(error, "send")
            raise LayerDown() from error
        self.outage.over("send")

    async def _send(self, channel: str, message: Mapping[str, Any]) -> None:
        """Send from the event loop when the layer can without waiting, else from a send thread.

        A hand-off to a send thread and back costs two thread wake-ups, which
        on a quiet machine is most of a send's time.
        """
        layer = self.channel_layer
        try_send = self._try_send
        if try_send is None:
            await self.call_layer(layer.send, channel, message)
            return
        data = layer.encode_for_later(message)
        if len(data) > LOOP_SEND_LIMIT or not try_send(channel, data):
            await self.call_layer(layer.send_encoded, channel, data)

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


def get_interface_application(alias: str = DEFAULT_CHANNEL_LAYER, **options: Any) -> InterfaceApplication:
    """Return an interface application for the layer ``alias`` (options as :class:`InterfaceApplication`)."""
    return InterfaceApplication(alias, **options)


#: The interface application for the ``"default"`` layer: ``daphne myproject.asgi:application``.
application = InterfaceApplication()
