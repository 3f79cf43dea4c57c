"""Receiving every reply of the process and handing each to its connection.

Where the layer can wake an event loop (the SQLite layer's ``watch``), the
replies are taken in the event loop itself (:class:`LoopReplies`); otherwise
one thread receives them all.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

from ..layers.base import random_letters
from .outage import LayerOutage, layer_errors

logger = logging.getLogger("channels_test.interface")


class ReplyReceiver:
    """Receive every reply for this process in one place; route each to its connection.

    Reply channels are made with ``process_local_name`` on two process-unique prefixes
    (``http.response.<id>!`` and ``websocket.send.<id>!``); the replies on
    both are taken and each is handed to the asyncio queue of the connection
    that owns its channel. Messages for channels no connection owns any more
    (closed, timed out) are dropped with a debug log.

    With a layer that can wake an event loop (``watch``) and every connection
    on one event loop, as under Daphne or uvicorn, the replies are taken in
    that loop (:class:`LoopReplies`). Otherwise, or from the moment
    connections come from a second event loop still open, one thread blocks
    on ``receive`` for both prefixes.
    """

    def __init__(self, channel_layer: Any, outage: LayerOutage | None = None):
        self.channel_layer = channel_layer
        self.outage = outage or LayerOutage()
        self.down_errors = layer_errors(channel_layer)
        process = random_letters(12)
        self.http_prefix = f"http.response.{process}!"
        self.websocket_prefix = f"websocket.send.{process}!"
        self.names = (self.http_prefix, self.websocket_prefix)
        self.connections: dict[str, tuple[asyncio.AbstractEventLoop, asyncio.Queue]] = {}
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._in_loop: LoopReplies | None = None
        self._in_thread = False  # set for good once replies must be taken in a thread

    def register(self, name: str) -> asyncio.Queue:
        """Return the queue that gets every message sent to ``name`` from now on."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue = asyncio.Queue()
        self.connections[name] = (loop, queue)
        self._start(loop)
        return queue

    def unregister(self, name: str) -> None:
        """Stop delivering messages for ``name``; later ones are dropped."""
        self.connections.pop(name, None)

    def _start(self, loop: asyncio.AbstractEventLoop) -> None:
        """Take replies in ``loop`` if the layer can wake it, else make sure the thread runs."""
        in_loop = self._in_loop
        if in_loop is not None and in_loop.loop is loop:
            return
        with self._lock:
            if self._in_loop is not None and self._in_loop.loop.is_closed():
                self._in_loop.stop()  # hands on the replies its socket holds
            elif self._in_loop is not None:
                # A second open event loop: the thread serves the connections of both.
                self._in_loop.stop()
                self._in_loop, self._in_thread = None, True
            if not self._in_thread:
                self._in_loop = LoopReplies.start(self, loop)
                if self._in_loop is not None:
                    return
                self._in_thread = True
        self._ensure_thread()

    def _ensure_thread(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self.stopping.clear()
                self._thread = threading.Thread(target=self.run, name="channels-interface-replies", daemon=True)
                self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop receiving; wait for the thread, if one runs (its blocking receive returns within ~1 s)."""
        self.stopping.set()
        with self._lock:
            in_loop, self._in_loop = self._in_loop, None
        if in_loop is not None:
            in_loop.stop()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def run(self) -> None:
        """Receive replies in this thread until :meth:`stop`; a layer error is logged and retried."""
        while not self.stopping.is_set():
            try:
                channel, message = self.channel_layer.receive(self.names, block=True)
            except self.down_errors as error:
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

    def deliver(self, channel: str, message: dict, running: asyncio.AbstractEventLoop | None = None) -> None:
        """Hand ``message`` to the connection owning ``channel``, if any.

        ``running`` is the event loop the caller runs in, if any: a
        connection on that loop gets the message at once.
        """
        target = self.connections.get(channel)
        if target is None:
            logger.debug("Dropping a reply on %r: its connection is gone.", channel)
            return
        loop, queue = target
        if loop is running:
            queue.put_nowait(message)
            return
        try:
            loop.call_soon_threadsafe(queue.put_nowait, message)
        except RuntimeError:  # the event loop is closed: the server is shutting down
            self.unregister(channel)


class LoopReplies:
    """Take the replies in the event loop itself, woken by the layer's socket for them.

    A reply then wakes one thread, the event loop's; taken in a thread, it
    wakes that thread, which then wakes the event loop. The layer's
    ``try_receive`` never waits: when another process holds the layer's
    lock, the loop looks again a moment later. Without a poke it also looks
    every ``LOOK_INTERVAL`` seconds after a reply came, then ever less
    often while none comes, down to every ``LONGEST_LOOK_INTERVAL``.
    """

    # Why the looks without a poke thin out: each wakes the event loop and
    # reads the layer's file, which with 1,000 open WebSockets cost Daphne
    # some 0.4 ms (against 0.03 ms with none), so looking every 0.1 s took
    # 0.4% of a core from an idle server. They only matter if a poke is
    # lost, and the layer loses none in the ways a busy server meets: a
    # poke that finds the socket's queue full is dropped, but that queue
    # holds datagrams, so the loop wakes and, having read several, looks in
    # the file anyway (see the layer's try_receive). What is left (a poke
    # failing for want of kernel buffers, a sender that cannot use the wake
    # directory) waits at most LONGEST_LOOK_INTERVAL, and a reply resets
    # the pace.
    LOOK_INTERVAL = 0.1
    LONGEST_LOOK_INTERVAL = 1.0
    LOCKED_RETRY = 0.0005  # the lock is held for microseconds
    DOWN_RETRY = 0.5
    ERROR_RETRY = 1.0

    def __init__(self, receiver: ReplyReceiver, loop: asyncio.AbstractEventLoop, wake_socket: Any):
        self.receiver = receiver
        self.loop = loop
        self.wake_socket = wake_socket
        self._retry: asyncio.TimerHandle | None = None
        self._tick: asyncio.TimerHandle | None = None
        self._interval = self.LOOK_INTERVAL
        self._active = False  # a datagram or a reply came since the last tick

    @classmethod
    def start(cls, receiver: ReplyReceiver, loop: asyncio.AbstractEventLoop) -> LoopReplies | None:
        """Start taking ``receiver``'s replies in ``loop`` (the running one); None if its layer cannot."""
        watch = getattr(receiver.channel_layer, "watch", None)
        wake_socket = watch(receiver.names) if watch is not None else None
        if wake_socket is None:
            return None
        in_loop = cls(receiver, loop, wake_socket)
        try:
            loop.add_reader(wake_socket, in_loop.woken)
        except NotImplementedError:  # an event loop that cannot watch sockets (Windows' proactor)
            return None
        in_loop.tick()
        return in_loop

    def tick(self) -> None:
        if self._active:
            self._interval, self._active = self.LOOK_INTERVAL, False
        else:
            self._interval = min(self._interval * 2, self.LONGEST_LOOK_INTERVAL)
        self._tick = self.loop.call_later(self._interval, self.tick)
        self.look()

    def woken(self) -> None:
        """Look, the socket being readable."""
        self._active = True
        self.look()

    def look(self) -> None:
        """Take and deliver the replies waiting; look again soon if the layer is locked or down.

        One batch at a time: when more replies wait, the next look comes
        after the loop's other work, so a flood of replies cannot starve it.
        """
        receiver = self.receiver
        try:
            found = receiver.channel_layer.try_receive(receiver.names)
        except receiver.down_errors as error:
            receiver.outage.started(error, "receive")
            self._retry_in(self.DOWN_RETRY)
            return
        except Exception:
            logger.exception("Receiving replies on %s failed; retrying in 1 s.", receiver.names)
            self._retry_in(self.ERROR_RETRY)
            return
        if found is None:
            self._retry_in(self.LOCKED_RETRY)
            return
        receiver.outage.over("receive")
        messages, more = found
        if messages:
            self._active = True
        for channel, message in messages:
            receiver.deliver(channel, message, self.loop)
        if more:
            self.loop.call_soon(self.look)

    def _retry_in(self, delay: float) -> None:
        if self._retry is None or self._retry.when() <= self.loop.time():
            self._retry = self.loop.call_later(delay, self.look)

    def stop(self) -> None:
        """Stop taking replies (from any thread).

        The layer stops sending replies to the socket, and keeps those it
        holds for whoever receives next (the loop's successor, or the thread).
        """
        if self.loop.is_closed():
            self._unwatch()
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self.loop:
            self._stop()
        else:
            try:
                self.loop.call_soon_threadsafe(self._stop)
            except RuntimeError:
                pass  # closed meanwhile

    def _stop(self) -> None:
        self.loop.remove_reader(self.wake_socket)
        for handle in (self._tick, self._retry):
            if handle is not None:
                handle.cancel()
        self._unwatch()

    def _unwatch(self) -> None:
        unwatch = getattr(self.receiver.channel_layer, "unwatch", None)
        if unwatch is not None:
            unwatch(self.wake_socket)
