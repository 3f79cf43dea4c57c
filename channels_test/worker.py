"""Workers: take messages off the layer and run the consumers routing picks."""

from __future__ import annotations

import fnmatch
import logging
import signal
import threading
import time
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from django.conf import settings

from ._stop import StopRequest, termed_property
from .exceptions import ChannelSocketException, ConsumeLater, DenyConnection
from .message import Message, pending_message_store
from .signals import (
    consumer_finished,
    consumer_started,
    worker_process_ready,
    worker_ready,
)
from .utils import name_that_thing

__all__ = ["Worker", "WorkerGroup", "run_consumer"]

# Channels 1.x's logger name, so a 1.x LOGGING config keeps catching worker errors.
logger = logging.getLogger("django.channels")


def run_consumer(consumer: Callable, message: Message, kwargs: dict, *, sender: Any, refuse_denied: bool = True) -> Any:
    """Call ``consumer(message, **kwargs)`` the way a worker does; return what it returned.

    Sends ``consumer_started``/``consumer_finished`` around the call and holds
    the consumer's sends until it returns; they are sent if it returns (or
    raises a :class:`ChannelSocketException`, whose action then runs) and
    dropped if it raises anything else, which propagates. A
    :class:`DenyConnection` refuses the connection, or with
    ``refuse_denied=False`` (the test clients, as in Channels 1.x) reaches
    the caller.
    """
    # Signal.send does nothing without receivers; asked here first, as tests run consumers by the thousand.
    if consumer_started.receivers:
        consumer_started.send(sender=sender, environ={})
    pending_message_store.begin()
    sent = False
    try:
        try:
            # kwargs passed on only if there are some: see BaseConsumer.
            result = consumer(message, **kwargs) if kwargs else consumer(message)
        except ChannelSocketException as action:
            if isinstance(action, DenyConnection) and not refuse_denied:
                raise
            pending_message_store.end(send=True)
            sent = True
            action.run(message)
            return None
        pending_message_store.end(send=True)
        sent = True
        return result
    finally:
        if not sent:
            pending_message_store.end(send=False)
        if consumer_finished.receivers:
            consumer_finished.send(sender=sender)


class Worker:
    """Receive messages on the routed channels and dispatch them, until stopped.

    ``only_channels``/``exclude_channels`` are glob patterns narrowing the
    channels listened on. ``callback(channel, message)``, if given, is
    called as each routed message is about to be dispatched (as in Channels
    1.x). A consumer that raises is logged with its traceback and the
    worker goes on. ``ConsumeLater`` re-queues the message
    up to ``message_retries`` times.

    Layer outages are ridden out, each logged once as it starts and once as
    it ends. When receiving fails (a ``ConnectionError``: a Redis server that
    is down, refuses the password, is a replica, is not Redis at all...),
    the worker retries every ``outage_retry_interval`` seconds and goes on
    when the layer answers again; nothing was taken off the layer meanwhile.
    When a consumer's sends fail with the layer's own error (``Unavailable``,
    e.g. a Redis server out of memory), that message's replies are lost and
    the worker goes on with the next message. ``stop()`` (or SIGTERM/SIGINT,
    with ``signal_handlers=True`` in the main thread) finishes the message in
    hand, then returns from :meth:`run`.
    """

    def __init__(
        self,
        channel_layer: Any,
        callback: Callable | None = None,
        message_retries: int | None = None,
        signal_handlers: bool = True,
        only_channels: Iterable[str] | None = None,
        exclude_channels: Iterable[str] | None = None,
    ):
        self.channel_layer = channel_layer
        self.callback = callback
        if message_retries is None:
            message_retries = getattr(settings, "CHANNELS_CONSUME_LATER_RETRIES", 10)
        self.message_retries = message_retries
        self.signal_handlers = signal_handlers
        self.only_channels = list(only_channels or [])
        self.exclude_channels = list(exclude_channels or [])
        self._stopping = StopRequest()
        self.termed = False
        self.in_job = False
        self.outage_retry_interval = 1.0
        self._unrouted_channels: set[str] = set()
        self._send_outage_started: float | None = None

    termed = termed_property("worker", "message")

    def stop(self) -> None:
        """Ask the worker to exit after the message in hand (thread-safe; safe in a signal handler)."""
        self.termed = True

    def install_signal_handler(self) -> None:
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)

    def _on_signal(self, signum: int, frame: Any) -> None:
        logger.info("Received %s; stopping after the current message.", signal.Signals(signum).name)
        self.stop()

    def apply_channel_filters(self, channels: Iterable[str]) -> list[str]:
        """Return ``channels`` narrowed by ``only_channels`` and ``exclude_channels``, in their order."""
        channels = list(channels)
        if self.only_channels:
            channels = [c for c in channels if any(fnmatch.fnmatchcase(c, p) for p in self.only_channels)]
        if self.exclude_channels:
            channels = [c for c in channels if not any(fnmatch.fnmatchcase(c, p) for p in self.exclude_channels)]
        return channels

    def ready(self) -> None:
        """Called once the worker listens; sends ``worker_ready``."""
        worker_ready.send(sender=self)

    def run(self) -> None:
        """Receive and dispatch messages until :meth:`stop` is called."""
        if self.signal_handlers and threading.current_thread() is threading.main_thread():
            self.install_signal_handler()
        channels = tuple(self.apply_channel_filters(sorted(self.channel_layer.router.channels)))
        if not channels:
            raise ValueError(
                "This worker has no channels to listen on: the routing is empty or "
                "--only-channels/--exclude-channels left nothing."
            )
        logger.debug("Listening on channels %s", ", ".join(channels))
        with self._hand_offs():
            self.ready()
            self._receive_loop(channels)

    def _hand_offs(self) -> AbstractContextManager:
        """Return the layer's ``take_hand_offs()`` where it has one (the SQLite layer), else a no-op."""
        layer = getattr(self.channel_layer, "channel_layer", self.channel_layer)
        take_hand_offs = getattr(type(layer), "take_hand_offs", None)
        return take_hand_offs(layer) if take_hand_offs is not None else nullcontext()

    def _receive_loop(self, channels: tuple) -> None:
        outage_started = None
        while not self.termed:
            self.in_job = False
            try:
                channel, content = self.channel_layer.receive(channels, block=True)
            except ConnectionError as error:
                if outage_started is None:
                    outage_started = time.monotonic()
                    logger.error(
                        "Cannot receive from the channel layer: %s. Retrying every %s s until it answers.",
                        str(error).rstrip("."),
                        self.outage_retry_interval,
                    )
                self._stopping.wait(self.outage_retry_interval)
                continue
            if outage_started is not None:
                logger.warning(
                    "The channel layer answers again after %.1f s; receiving.",
                    time.monotonic() - outage_started,
                )
                outage_started = None
            if channel is None:
                continue
            self.in_job = True
            self.handle(channel, content)

    def handle(self, channel: str, content: dict) -> None:
        """Dispatch one message received on ``channel``; never raises."""
        message = Message(content, channel, self.channel_layer)
        match = self.channel_layer.router.match(message)
        if match is None:
            if channel not in self._unrouted_channels:
                self._unrouted_channels.add(channel)
                logger.error(
                    "No route matches a message on %r (path %r); check your routing. "
                    "Further unrouted messages on this channel are dropped silently.",
                    channel,
                    content.get("path"),
                )
            return
        consumer, kwargs = match
        if self.callback is not None:
            self.callback(channel, message)
        try:
            run_consumer(consumer, message, kwargs, sender=type(self))
        except ConsumeLater:
            self.requeue(channel, content)
        except self._layer_errors() as error:
            self._send_failed(error, f"consumer {name_that_thing(consumer)} handling a message on {channel!r}")
            return
        except Exception:
            logger.exception("Error in consumer %s handling a message on %r:", name_that_thing(consumer), channel)
        if self._send_outage_started is not None:
            self._sends_work_again()

    def _layer_errors(self) -> tuple:
        """Return the exception classes that mean the layer itself failed (not a consumer bug)."""
        unavailable = getattr(self.channel_layer, "Unavailable", None)
        return (unavailable,) if isinstance(unavailable, type) else ()

    def _send_failed(self, error: Exception, who: str) -> None:
        """Log a failed send to the layer once per outage (no traceback: it is not a bug)."""
        if self._send_outage_started is not None:
            return
        self._send_outage_started = time.monotonic()
        logger.error(
            "Sending to the channel layer failed for %s: %s Messages whose sends fail are "
            "dropped (not retried) until the layer takes sends again; this is logged once.",
            who,
            error,
        )

    def _sends_work_again(self) -> None:
        assert self._send_outage_started is not None  # only called during a send outage
        logger.warning(
            "The channel layer takes sends again after %.1f s.", time.monotonic() - self._send_outage_started
        )
        self._send_outage_started = None

    def requeue(self, channel: str, content: dict) -> None:
        """Put a ``ConsumeLater`` message back on its channel, or drop it after too many tries."""
        retries = content.get("__retries__", 0) + 1
        if retries > self.message_retries:
            logger.error(
                "Dropping a message on %r after %d ConsumeLater retries: %.200r",
                channel,
                self.message_retries,
                content,
            )
            return
        content["__retries__"] = retries
        for _ in range(10):
            try:
                self.channel_layer.send(channel, content)
                return
            except self.channel_layer.ChannelFull:
                time.sleep(0.05)
            except ConnectionError as error:
                self._send_failed(error, f"a ConsumeLater message on {channel!r}")
                return
        logger.error("Dropping a ConsumeLater message: channel %r stayed full.", channel)


class WorkerGroup(Worker):
    """``n_threads`` workers in one process: this one plus ``n_threads - 1`` threads."""

    def __init__(self, *args: Any, n_threads: int = 1, **kwargs: Any):
        if n_threads < 1:
            raise ValueError(f"n_threads must be at least 1, not {n_threads!r}.")
        super().__init__(*args, **kwargs)
        kwargs["signal_handlers"] = False
        self.workers = [Worker(*args, **kwargs) for _ in range(n_threads - 1)]
        self._ready_count = 0
        self._ready_lock = threading.Lock()
        for worker in self.workers:
            # Per-instance override of the ready() hook, which mypy cannot express.
            worker.ready = self._one_ready(worker)  # type: ignore[method-assign]

    def _one_ready(self, worker: Worker) -> Callable[[], None]:
        def ready() -> None:
            Worker.ready(worker)
            self._count_ready()

        return ready

    def ready(self) -> None:
        super().ready()
        self._count_ready()

    def _count_ready(self) -> None:
        with self._ready_lock:
            self._ready_count += 1
            if self._ready_count == len(self.workers) + 1:
                worker_process_ready.send(sender=self)

    def stop(self) -> None:
        super().stop()
        for worker in self.workers:
            worker.stop()

    def run(self) -> None:
        threads = [
            threading.Thread(target=worker.run, name=f"channels-worker-{index}", daemon=True)
            for index, worker in enumerate(self.workers, start=1)
        ]
        for thread in threads:
            thread.start()
        try:
            super().run()
        finally:
            self.stop()
            for thread in threads:
                thread.join()
