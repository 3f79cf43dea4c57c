"""The delay server's loop: store ``asgi.delay`` messages, send them when due.

A message on ``asgi.delay`` is ``{"channel": str, "content": dict, "delay":
milliseconds}``. The worker stores it as a
:class:`~channels_test.delay.models.DelayedMessage` and, once it is due,
sends ``content`` to ``channel`` (oldest due first). A malformed request is
logged with the reason and dropped; a message whose channel is full stays
in the table, in its place, and is tried again at the next check. Several
delay servers may share one database: each due row is sent by one of them
only (see :meth:`Worker.send_due`).
"""

from __future__ import annotations

import logging
import math
import signal
import threading
import time
from datetime import datetime, timedelta
from typing import Any

from django.db import DatabaseError, connections, router, transaction
from django.utils import timezone

from .._stop import StopRequest, termed_property
from ..layers.base import MessageTooLarge
from .models import DelayedMessage, decode_content, encode_content

__all__ = ["Worker", "InvalidDelayRequest", "DELAY_CHANNEL", "MAX_DELAY"]

logger = logging.getLogger("channels_test.delay")

DELAY_CHANNEL = "asgi.delay"
#: The longest delay accepted, in milliseconds: one year. Longer ones are
#: taken for mistakes (a timestamp sent as a delay, or microseconds).
MAX_DELAY = 365 * 24 * 3600 * 1000

# What became of one due message.
SENT, FULL, DROPPED, UNREACHABLE = "sent", "full", "dropped", "unreachable"


class InvalidDelayRequest(ValueError):
    """A message on ``asgi.delay`` that cannot be delayed; the text says why."""


class Worker:
    """Listen on ``asgi.delay``, store what comes, send stored messages when due.

    ``channel_layer`` is the layer (or its wrapper) to listen and send on.
    ``database_sleep_duration`` is the number of seconds between checks of
    the table for due messages (``rundelay --sleep``); a message this worker
    stored itself is also checked for when it falls due. :meth:`stop` (or
    SIGTERM/SIGINT with ``signal_handlers=True``, in the main thread) ends
    :meth:`run` after the step in hand.
    """

    delay_channel = DELAY_CHANNEL
    #: Longest accepted delay, in milliseconds.
    max_delay = MAX_DELAY
    #: Seconds to wait when ``asgi.delay`` is empty, before looking again.
    idle_wait = 0.1
    #: Due messages claimed per database transaction.
    batch_size = 100
    #: Seconds between retries while the layer or the database is unreachable.
    outage_retry_interval = 1.0
    #: Claim due rows with ``SELECT ... FOR UPDATE SKIP LOCKED`` (True), with a
    #: conditional DELETE per row (False), or as the database allows (None).
    row_locks: bool | None = None

    def __init__(self, channel_layer: Any, signal_handlers: bool = True, database_sleep_duration: float = 1):
        self.channel_layer = channel_layer
        self.signal_handlers = signal_handlers
        self._stopping = StopRequest()
        self.in_job = False
        self.database_sleep_duration = database_sleep_duration
        self._next_check = 0.0
        self._layer_outage = False
        self._database_outage = False

    # -- stopping ---------------------------------------------------------

    termed = termed_property("server", "step")

    def stop(self) -> None:
        """Ask :meth:`run` to return after the step in hand (thread-safe; safe in a signal handler)."""
        self.termed = True

    def install_signal_handler(self) -> None:
        signal.signal(signal.SIGTERM, self.sigterm_handler)
        signal.signal(signal.SIGINT, self.sigterm_handler)

    def sigterm_handler(self, signo: int, stack_frame: Any) -> None:
        logger.info("Received %s; the delay server stops after the step in hand.", signal.Signals(signo).name)
        self.stop()

    # -- the loop -----------------------------------------------------------

    def ready(self) -> None:
        """Called once the worker listens (a hook for commands and the live server)."""

    def run(self) -> None:
        """Store and send delayed messages until :meth:`stop` is called."""
        if self.signal_handlers and threading.current_thread() is threading.main_thread():
            self.install_signal_handler()
        logger.info("Listening on %s", self.delay_channel)
        self._next_check = 0.0
        self.ready()
        while not self.termed:
            self.in_job = False
            content = self.receive()
            self.in_job = True
            if content is not None:
                self.handle(content)
            if time.monotonic() >= self._next_check:
                self.check_due()
            if content is None:
                wait = min(self.idle_wait, self._next_check - time.monotonic())
                if wait > 0:
                    self._stopping.wait(wait)
        self.in_job = False

    def receive(self) -> dict | None:
        """Take the next message off ``asgi.delay``, or return None (also while the layer is down)."""
        try:
            channel, content = self.channel_layer.receive([self.delay_channel], block=False)
        except ConnectionError as error:
            if not self._layer_outage:
                self._layer_outage = True
                logger.error(
                    "Cannot receive from the channel layer: %s. Retrying every %s s until it answers.",
                    error,
                    self.outage_retry_interval,
                )
            self._stopping.wait(self.outage_retry_interval)
            return None
        if self._layer_outage:
            self._layer_outage = False
            logger.warning("The channel layer answers again; receiving on %s.", self.delay_channel)
        return content if channel is not None else None

    def handle(self, content: Any) -> None:
        """Store one request taken off ``asgi.delay``; log and drop it if it is invalid."""
        try:
            stored = self.store(content)
        except InvalidDelayRequest as error:
            logger.error("Dropped a message on %s: %s. The message: %.300r", self.delay_channel, error, content)
            return
        except DatabaseError as error:
            self._give_back(content, error)
            return
        due_in = (stored.due_date - timezone.now()).total_seconds()
        self._next_check = min(self._next_check, time.monotonic() + max(0.0, due_in))

    def _give_back(self, content: dict, error: Exception) -> None:
        """Return a request the database would not take to ``asgi.delay``, so it is not lost."""
        logger.error("Cannot store a delayed message (%s); putting it back on %s.", error, self.delay_channel)
        _close_if_broken(router.db_for_write(DelayedMessage))
        try:
            self.channel_layer.send(self.delay_channel, content)
        except Exception as send_error:  # noqa: BLE001  (the layer refused too: say what is lost)
            logger.error(
                "Lost a delayed message: %s could not take it back (%s): %.300r",
                self.delay_channel,
                send_error,
                content,
            )
        self._stopping.wait(self.outage_retry_interval)

    def check_due(self) -> None:
        """Send what is due, logging (not raising) database errors; schedule the next check."""
        try:
            self.send_due()
        except DatabaseError as error:
            if not self._database_outage:
                self._database_outage = True
                logger.error(
                    "Cannot read delayed messages from the database: %s. Retrying every %s s "
                    "(did you run 'manage.py migrate'?).",
                    error,
                    self.database_sleep_duration,
                )
            _close_if_broken(router.db_for_write(DelayedMessage))
        else:
            if self._database_outage:
                self._database_outage = False
                logger.warning("The database answers again; sending delayed messages.")
        self._next_check = time.monotonic() + self.database_sleep_duration

    # -- storing ------------------------------------------------------------

    def parse(self, content: Any) -> tuple[str, dict, float]:
        """Return ``(channel, message, delay)`` of an ``asgi.delay`` request.

        Raise :class:`InvalidDelayRequest` saying what is wrong with it.
        """
        if not isinstance(content, dict):
            raise InvalidDelayRequest(f"it is a {type(content).__name__}, not a dict")
        missing = [key for key in ("channel", "content", "delay") if key not in content]
        if missing:
            raise InvalidDelayRequest(
                f"it lacks {', '.join(map(repr, missing))} (it needs 'channel', 'content' and 'delay')"
            )
        channel, message, delay = content["channel"], content["content"], content["delay"]
        try:
            self.channel_layer.validate_channel_name(channel)
        except (TypeError, ValueError) as error:
            raise InvalidDelayRequest(f"'channel' is not a channel to send to: {error}") from None
        if not isinstance(message, dict):
            raise InvalidDelayRequest(f"'content' must be a dict, not {type(message).__name__}")
        if isinstance(delay, bool) or not isinstance(delay, (int, float)):
            raise InvalidDelayRequest(f"'delay' must be an int of milliseconds, not {type(delay).__name__}")
        if not math.isfinite(delay) or delay < 0 or delay > self.max_delay:
            raise InvalidDelayRequest(
                f"'delay' is {delay!r}; it must be from 0 to {self.max_delay} milliseconds (a year)"
            )
        return channel, message, delay

    def store(self, content: Any, now: datetime | None = None) -> DelayedMessage:
        """Save the request ``content`` as a DelayedMessage due ``delay`` ms after ``now``."""
        channel, message, delay = self.parse(content)
        now = timezone.now() if now is None else now
        return DelayedMessage.objects.create(
            channel_name=channel,
            content=encode_content(message),
            due_date=now + timedelta(milliseconds=delay),
        )

    # -- sending ------------------------------------------------------------

    def send_due(self, now: datetime | None = None) -> int:
        """Send every message due at ``now``, oldest first; return how many were sent.

        Each row is claimed in a transaction that sends it and deletes it,
        so two servers never both send it: with ``SELECT ... FOR UPDATE SKIP
        LOCKED`` where the database has it (PostgreSQL, Oracle, MySQL 8), else
        with a DELETE of the row that only one transaction can win (SQLite).
        A message whose channel is full keeps its row and its place; the
        channel's later messages wait for it until the next check.
        """
        now = timezone.now() if now is None else now
        using = router.db_for_write(DelayedMessage)
        locks = self.row_locks
        if locks is None:
            locks = connections[using].features.has_select_for_update_skip_locked
        send_batch = self._send_locked_batch if locks else self._send_claimed_batch
        full: set[str] = set()
        sent = 0
        while True:
            batch_sent, claimed, stopped = send_batch(using, now, full)
            sent += batch_sent
            if stopped or claimed < self.batch_size:
                return sent

    def _due(self, using: str, now: datetime, full: set[str]) -> Any:
        rows = DelayedMessage.objects.using(using).is_due(now)
        if full:
            rows = rows.exclude(channel_name__in=full)
        return rows.order_by("due_date", "id")

    def _send_locked_batch(self, using: str, now: datetime, full: set[str]) -> tuple[int, int, bool]:
        """Lock a batch of due rows (skipping rows other servers hold), send and delete them."""
        sent, stopped, done = 0, False, []
        with transaction.atomic(using=using):
            rows = list(self._due(using, now, full).select_for_update(skip_locked=True)[: self.batch_size])
            for row in rows:
                if row.channel_name in full:
                    continue
                outcome = self.deliver(row)
                if outcome == UNREACHABLE:
                    stopped = True
                    break
                if outcome == FULL:
                    full.add(row.channel_name)
                    continue
                done.append(row.pk)
                sent += outcome == SENT
            if done:
                DelayedMessage.objects.using(using).filter(pk__in=done).delete()
        return sent, len(rows), stopped

    def _send_claimed_batch(self, using: str, now: datetime, full: set[str]) -> tuple[int, int, bool]:
        """Send a batch of due rows, each claimed by deleting it in the transaction that sends it."""
        sent = 0
        rows = list(self._due(using, now, full)[: self.batch_size])
        for row in rows:
            if row.channel_name in full:
                continue
            with transaction.atomic(using=using):
                claimed, _ = DelayedMessage.objects.using(using).filter(pk=row.pk, due_date__lte=now).delete()
                if not claimed:
                    continue  # another delay server sent it
                outcome = self.deliver(row)
                if outcome in (FULL, UNREACHABLE):
                    transaction.set_rollback(True, using=using)  # the row stays
                if outcome == UNREACHABLE:
                    return sent, len(rows), True
                if outcome == FULL:
                    full.add(row.channel_name)
                sent += outcome == SENT
        return sent, len(rows), False

    def deliver(self, row: DelayedMessage) -> str:
        """Send one stored message; return SENT, FULL, UNREACHABLE, or DROPPED (logged)."""
        try:
            message = decode_content(row.content)
            if not isinstance(message, dict):
                raise TypeError(f"the stored content is a {type(message).__name__}, not a dict")
        except (ValueError, TypeError, EOFError) as error:
            logger.error(
                "Dropped delayed message %s for %r: its content cannot be read (%s).", row.pk, row.channel_name, error
            )
            return DROPPED
        try:
            self.channel_layer.send(row.channel_name, message)
        except self.channel_layer.ChannelFull:
            logger.info("Channel %r is full; its delayed message waits for the next check.", row.channel_name)
            return FULL
        except ConnectionError as error:
            logger.error("Cannot send delayed messages: %s. Trying again at the next check.", error)
            return UNREACHABLE
        except (ValueError, TypeError, MessageTooLarge) as error:
            logger.error(
                "Dropped delayed message %s for %r: the layer refuses it (%s).", row.pk, row.channel_name, error
            )
            return DROPPED
        logger.debug("Sent a delayed message to %r", row.channel_name)
        return SENT


def _close_if_broken(using: str) -> None:
    """Close the connection ``using`` if an error left it unusable (it reopens on next use)."""
    connection = connections[using]
    if not connection.in_atomic_block:
        connection.close_if_unusable_or_obsolete()
