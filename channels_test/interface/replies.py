"""The one thread per process that receives every reply and hands it to its connection."""

from __future__ import annotations

import asyncio
import logging
import secrets
import string
import threading
from typing import Any

from .outage import LayerOutage, layer_errors

logger = logging.getLogger("channels_test.interface")


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
                self._thread = threading.Thread(target=self.run, name="channels-interface-replies", daemon=True)
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
