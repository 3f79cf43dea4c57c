"""A channel layer inside one process: what tests swap in, and what
``runserver`` uses when Daphne and the workers share a process."""

from __future__ import annotations

import collections
import sys
import threading
import time
from collections.abc import Iterable

from .base import BaseChannelLayer, ChannelFull, decode_message, encode_message, validate_message
from .encoding import plain_copy

__all__ = ["InMemoryChannelLayer"]


class InMemoryChannelLayer(BaseChannelLayer):
    """A thread-safe, in-process channel layer.

    Each channel is a FIFO queue. ``receive`` over several channels serves
    them round-robin, so a busy channel cannot starve a quiet one, and costs
    at most O(number of channels asked for). Each message is stored as a
    copy of its own, made at send as encoding and decoding would make it
    (see :func:`~channels_test.layers.encoding.plain_copy`), so what a
    receiver gets is what the other layers give: mutating a sent dict
    afterwards, or a received one, changes nothing for anybody else.

    ``blocking_timeout`` is how long ``receive(..., block=True)`` waits before
    returning ``(None, None)`` (default 1 second).
    """

    extensions = ["groups", "flush", "introspection"]
    # send_and_receive's one step also stands in for these (see layers._held).
    _short_cuts = {**BaseChannelLayer._short_cuts, "_one_step": ("send", "receive", "_send", "encode_for_later")}
    _one_step: bool
    # One process only: a clock no change of the wall clock moves.
    clock = staticmethod(time.monotonic)

    def __init__(self, *, blocking_timeout: float = 1.0, **config):
        super().__init__(**config)
        self.blocking_timeout = blocking_timeout
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        # Receivers blocked in _arrived.wait(): sends wake them only when there are some.
        self._blocked = 0
        # channel name -> deque of (expires_at, message): a copy no one else holds, or _Shared
        self._queues: dict[str, collections.deque] = {}
        # channels holding messages, in the order they will be served;
        # value: the channel's "prefix!" part, or None for a plain name
        self._waiting: dict[str, str | None] = {}
        # "prefix!" -> {full name: None} of its channels holding messages
        self._local_waiting: dict[str, dict[str, None]] = {}
        # group -> {channel: membership expires_at}
        self._groups: dict[str, dict[str, float]] = {}
        self._next_sweep = self.clock() + self.expiry

    # -- sending ------------------------------------------------------------

    def send(self, channel: str, message: dict) -> None:
        # BaseChannelLayer.send, with encode_for_later's usual case in line.
        if type(channel) is not str or channel not in self._sendable:
            self._check_sendable(channel)
        copy = plain_copy(message, self.max_message_size)
        self._send(channel, copy if copy is not None else self.encode_for_later(message))

    def send_and_receive(self, channel: str, message: dict) -> tuple:
        # BaseChannelLayer.send_and_receive in one step: with nothing waiting on a plain
        # channel, the stored copy goes straight back to the caller.
        if not self._one_step:  # send or receive overridden or replaced: they are called
            return super().send_and_receive(channel, message)
        if type(channel) is not str or channel not in self._sendable:
            self._check_sendable(channel)
        copy = plain_copy(message, self.max_message_size)
        if copy is None:
            copy = self.encode_for_later(message)
        if "!" not in channel:  # a plain name one may send to is one to receive on
            with self._lock:
                if channel not in self._queues:
                    return channel, copy
        self._send(channel, copy)
        return self.receive((channel,))

    def encode_for_later(self, message: dict) -> dict:  # type: ignore[override]  # a copy, not bytes
        """Check ``message`` and return the copy of it this layer stores (and a receiver gets).

        Raises what :meth:`send` raises for the message (``TypeError``,
        ``MessageTooLarge``), as the encoding layers do.
        """
        copy = plain_copy(message, self.max_message_size)
        if copy is None:  # unusual, large or wrong: the encoding decides, and names what is wrong
            copy = decode_message(self.encode(validate_message(message)))
        return copy

    def _send(self, channel: str, data: dict) -> None:  # type: ignore[override]  # see encode_for_later
        with self._lock:
            now = self.clock()
            self._push(channel, data, now)
            if self._blocked:
                self._arrived.notify_all()
            if now > self._next_sweep:
                self._sweep(now)

    def _send_group(self, group: str, data: dict) -> None:  # type: ignore[override]  # see encode_for_later
        with self._lock:
            members = self._groups.get(group)
            if not members:
                return
            now = self.clock()
            shared = _Shared(data)
            for channel, expires_at in list(members.items()):
                if expires_at <= now:
                    del members[channel]
                    continue
                try:
                    self._push(channel, shared, now)
                except ChannelFull:
                    pass  # a full member misses this message, as the spec says
            if self._blocked:
                self._arrived.notify_all()

    def _push(self, channel: str, data: dict | _Shared, now: float) -> None:
        queue = self._queues.get(channel)
        if queue is None:
            if "!" not in channel:  # the usual first message of a plain channel: below capacity
                self._queues[channel] = collections.deque(((now + self.expiry, data),))
                self._waiting[channel] = None  # a channel without a queue was not waiting
                return
            queue = self._queues[channel] = collections.deque()
        else:
            while queue and queue[0][0] <= now:
                queue.popleft()
        local = "!" in channel
        if local:
            held, counted = self._held(channel, queue)
        else:
            held, counted = len(queue), channel
        if held >= (self._capacity_cache.get(counted) or self.get_capacity(counted)):
            raise ChannelFull(
                f"Channel {counted!r} holds {held} messages, its capacity; "
                "retry later, or raise 'capacity'/'channel_capacity' in the layer CONFIG."
            )
        queue.append((now + self.expiry, data))
        if channel not in self._waiting:
            if local:
                self._waiting[channel] = counted
                self._local_waiting.setdefault(counted, {})[channel] = None
            else:
                self._waiting[channel] = None

    def _held(self, channel: str, queue: collections.deque) -> tuple[int, str]:
        """Return how many messages count against ``channel``'s capacity, and the name they count on.

        Process-local channels (``prefix!suffix``) share their prefix's
        capacity, as the ASGI 1 layer spec says.
        """
        local = self.non_local_name(channel)
        if local is channel:
            return len(queue), channel
        queues = self._queues
        return sum(len(queues[name]) for name in self._local_waiting.get(local, ())), local

    # -- receiving ----------------------------------------------------------

    def receive(self, channels: Iterable[str], block: bool = False) -> tuple:
        names = self._receive_names(channels)
        if not names:
            return None, None
        if not block and len(names) == 1 and names[0][-1] != "!":
            with self._lock:  # the usual case (a test client's call) in line
                return self._take_from(names[0])
        return self._receive(names, block)

    def _receive(self, channels: tuple, block: bool) -> tuple:
        with self._lock:
            found = self._take(channels)
            if found[0] is not None or not block:
                return found
            deadline = time.monotonic() + self.blocking_timeout
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None, None
                self._blocked += 1
                try:
                    self._arrived.wait(remaining)
                finally:
                    self._blocked -= 1
                found = self._take(channels)
                if found[0] is not None:
                    return found

    def _take(self, channels: tuple) -> tuple:
        if len(channels) == 1 and channels[0][-1] != "!":
            return self._take_from(channels[0])
        now = self.clock()
        while True:
            channel = self._choose(channels)
            if channel is None:
                return None, None
            queue = self._queues[channel]
            expires_at, data = queue.popleft()
            self._rotate(channel, queue)
            if expires_at > now:
                return channel, data if type(data) is not _Shared else _copy_of(data.message)

    def _take_from(self, channel: str) -> tuple:
        """Take the next message of one plain channel (what _take does, for the usual case)."""
        queue = self._queues.get(channel)
        if queue is None:
            return None, None
        now = self.clock()
        waiting = self._waiting
        while queue:
            expires_at, data = queue.popleft()
            del waiting[channel]
            if queue:
                waiting[channel] = None  # to the back of the serving order
            else:
                del self._queues[channel]
            if expires_at > now:
                return channel, data if type(data) is not _Shared else _copy_of(data.message)
        return None, None

    def _choose(self, channels: tuple) -> str | None:
        """Pick the channel to serve: the longest-waiting one that was asked for."""
        waiting = self._waiting
        if not waiting:
            return None
        if len(channels) == 1:
            name = channels[0]
            if name[-1] == "!":
                names = self._local_waiting.get(name)
                return next(iter(names)) if names else None
            return name if name in waiting else None
        wanted = self._wanted(channels)
        if len(waiting) <= len(channels):
            for name, local in waiting.items():
                if name in wanted or (local is not None and local in wanted):
                    return name
            return None
        for name in channels:
            if name[-1] == "!":
                names = self._local_waiting.get(name)
                if names:
                    return next(iter(names))
            elif name in waiting:
                return name
        return None

    def _rotate(self, channel: str, queue: collections.deque) -> None:
        """Move ``channel`` to the back of the serving order, or drop it if empty."""
        local = self._waiting.pop(channel)
        local_names = self._local_waiting.get(local) if local is not None else None
        if local_names is not None:
            del local_names[channel]
        if queue:
            self._waiting[channel] = local
            if local_names is not None:
                local_names[channel] = None
        else:
            del self._queues[channel]
            if local is not None and local_names is not None and not local_names:
                del self._local_waiting[local]

    # -- groups ---------------------------------------------------------------

    def group_add(self, group: str, channel: str) -> None:
        self._check_membership_args(group, channel)
        with self._lock:
            self._groups.setdefault(group, {})[channel] = self.clock() + self.group_expiry

    def group_discard(self, group: str, channel: str) -> None:
        self._check_membership_args(group, channel)
        with self._lock:
            members = self._groups.get(group)
            if members is not None:
                members.pop(channel, None)
                if not members:
                    del self._groups[group]

    def group_channels(self, group: str) -> list[str]:
        self.validate_group_name(group)
        now = self.clock()
        with self._lock:
            members = self._groups.get(group, {})
            return [channel for channel, expires_at in members.items() if expires_at > now]

    # -- housekeeping -----------------------------------------------------------

    def flush(self) -> None:
        with self._lock:
            self._queues.clear()
            self._waiting.clear()
            self._local_waiting.clear()
            self._groups.clear()

    def message_counts(self) -> dict[str, int]:
        """Return ``{channel: number of unexpired messages}`` for non-empty channels."""
        now = self.clock()
        with self._lock:
            counts = {
                channel: sum(1 for expires_at, _ in queue if expires_at > now)
                for channel, queue in self._queues.items()
            }
        return {channel: count for channel, count in counts.items() if count}

    def _channel_exists(self, channel: str) -> bool:
        return channel in self._queues

    def _sweep(self, now: float) -> None:
        """Drop expired messages and memberships everywhere (runs every ``expiry``)."""
        self._next_sweep = now + self.expiry
        for channel, queue in list(self._queues.items()):
            while queue and queue[0][0] <= now:
                queue.popleft()
            if not queue:
                self._rotate(channel, queue)
        for group, members in list(self._groups.items()):
            for channel in [c for c, expires_at in members.items() if expires_at <= now]:
                del members[channel]
            if not members:
                del self._groups[group]


class _Shared:
    """A group's message, stored once for every member: each receiver takes a copy of its own."""

    __slots__ = ("message",)

    def __init__(self, message: dict):
        self.message = message


def _copy_of(message: dict) -> dict:
    """Return a copy of a stored message, as another member of a group gets it."""
    copy = plain_copy(message, sys.maxsize)
    return copy if copy is not None else decode_message(encode_message(message))
