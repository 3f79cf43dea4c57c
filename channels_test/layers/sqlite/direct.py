"""Direct delivery: a message for a process-local channel travels in the datagram itself.

A process-local channel (``prefix!suffix``) is received only by the process
owning its prefix. When that process's event loop watches the prefix (the
layer's ``watch``), its socket is linked under the prefix's key, and a send
from another process hands it the message in the datagram that would have
poked it: no row is written, and the receiver takes no write lock to get it.
The receiving layer keeps such messages in its :class:`Inbox` until a
receive asks for their channel.

A message datagram is ``b"m"``, the message's expiry time (a double, on the
sender's clock, as the file stores it), the length of the channel name (one
byte), the name in ASCII, then the encoded message. A poke is ``b"!"``.

A hand-off (a message for any channel, to a worker idle in a blocking
receive that offered to take one: see ``wake``) is ``b"h"``, the expiry,
the sender's bound (an unsigned 64-bit id, see :class:`StoredIds`), then
the name's length, the name and the message as above.
"""

from __future__ import annotations

import struct
import threading
from collections import deque
from typing import NamedTuple

from .wake import DATAGRAM_LIMIT, HAND_OFF, MESSAGE

__all__ = [
    "HandOff",
    "Inbox",
    "StoredChannels",
    "StoredIds",
    "encode_datagram",
    "encode_hand_off",
    "parse_datagram",
    "parse_hand_off",
]

_HEADER = struct.Struct("!dB")
_HAND_OFF_HEADER = struct.Struct("!dQB")


def encode_datagram(channel: str, expires: float, data: bytes) -> bytes | None:
    """Return the datagram carrying ``data`` for ``channel``; None if it would exceed ``DATAGRAM_LIMIT``."""
    name = channel.encode("ascii")
    if 1 + _HEADER.size + len(name) + len(data) > DATAGRAM_LIMIT:
        return None
    return MESSAGE + _HEADER.pack(expires, len(name)) + name + data


def parse_datagram(datagram: bytes) -> tuple[str, float, bytes]:
    """Return ``(channel, expires, data)`` from a message datagram; raise ValueError if it is malformed."""
    if datagram[:1] != MESSAGE or len(datagram) < 1 + _HEADER.size:
        raise ValueError(f"not a message datagram ({len(datagram)} bytes, starting {datagram[:1]!r})")
    expires, length = _HEADER.unpack_from(datagram, 1)
    start = 1 + _HEADER.size
    name = datagram[start : start + length]
    if len(name) != length or b"!" not in name:
        raise ValueError("its channel name is cut short, or not a process-local one")
    return name.decode("ascii"), expires, datagram[start + length :]


class HandOff(NamedTuple):
    """A message handed to a worker: its channel, expiry, sender's bound (see :class:`StoredIds`), data."""

    channel: str
    expires: float
    bound: int
    data: bytes


def encode_hand_off(channel: str, expires: float, bound: int, data: bytes) -> bytes | None:
    """Return the datagram handing ``data`` for ``channel`` over; None if it would exceed ``DATAGRAM_LIMIT``."""
    name = channel.encode("ascii")
    if 1 + _HAND_OFF_HEADER.size + len(name) + len(data) > DATAGRAM_LIMIT:
        return None
    return HAND_OFF + _HAND_OFF_HEADER.pack(expires, bound, len(name)) + name + data


def parse_hand_off(datagram: bytes) -> HandOff:
    """Return the :class:`HandOff` a hand-off datagram carries; raise ValueError if it is malformed."""
    if datagram[:1] != HAND_OFF or len(datagram) < 1 + _HAND_OFF_HEADER.size:
        raise ValueError(f"not a hand-off datagram ({len(datagram)} bytes, starting {datagram[:1]!r})")
    expires, bound, length = _HAND_OFF_HEADER.unpack_from(datagram, 1)
    start = 1 + _HAND_OFF_HEADER.size
    name = datagram[start : start + length]
    if len(name) != length or not name:
        raise ValueError("its channel name is cut short")
    return HandOff(name.decode("ascii"), expires, bound, datagram[start + length :])


class StoredIds:
    """The id of the last message a layer object stored on each channel, while it may still wait.

    A message handed to a worker carries the sender's bound: the id of the
    last message the sender stored on its channel, or by a group send (whose
    members the sender does not know), that may still wait in the file; 0
    if none may. The worker takes any message of that channel with an id up
    to the bound first, so one sender's messages to a channel stay in order
    whichever way each travels.
    """

    PRUNE_ABOVE = 10000

    def __init__(self) -> None:
        self._last: dict[str, tuple[int, float]] = {}  # channel -> (id, expires)
        self._group: tuple[int, float] = (0, 0.0)
        self._lock = threading.Lock()  # a prune must not lose another thread's add

    def add(self, channel: str, message_id: int, expires: float, now: float) -> None:
        with self._lock:
            if len(self._last) >= self.PRUNE_ABOVE:
                self._last = {name: last for name, last in self._last.items() if last[1] > now}
            self._last[channel] = (message_id, expires)

    def add_group(self, message_id: int, expires: float) -> None:
        self._group = (message_id, expires)

    def bound(self, channel: str, now: float) -> int:
        """Return the id up to which messages this object stored on ``channel`` may still wait; 0 if none may."""
        message_id, expires = self._last.get(channel, (0, 0.0))
        bound = message_id if expires > now else 0
        group_id, group_expires = self._group
        return max(bound, group_id) if group_expires > now else bound

    def clear(self) -> None:
        with self._lock:
            self._last, self._group = {}, (0, 0.0)


class Inbox:
    """The messages that came in datagrams, in arrival order, until a receive asks for them; thread-safe.

    Each is kept under its channel's prefix (up to and including ``!``),
    the name a receive asks for, and expires as a stored message does.
    """

    PRUNE_ABOVE = 1000  # messages kept before a put drops the expired ones

    def __init__(self) -> None:
        self._messages: deque[tuple[str, str, float, bytes]] = deque()  # (prefix, channel, expires, data)
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._messages)

    def put(self, channel: str, expires: float, data: bytes, now: float) -> None:
        prefix = channel[: channel.index("!") + 1]
        with self._lock:
            if len(self._messages) >= self.PRUNE_ABOVE:
                self._messages = deque(item for item in self._messages if item[2] > now)
            self._messages.append((prefix, channel, expires, data))

    def take(self, wanted: frozenset, now: float, limit: int) -> list[tuple[str, bytes]]:
        """Remove and return up to ``limit`` unexpired ``(channel, data)`` asked for by ``wanted``, oldest first.

        Expired messages are dropped on the way, asked for or not.
        """
        if not self._messages:
            return []
        taken: list[tuple[str, bytes]] = []
        with self._lock:
            kept: deque = deque()
            for item in self._messages:
                if item[2] <= now:
                    continue
                if len(taken) < limit and item[0] in wanted:
                    taken.append((item[1], item[3]))
                else:
                    kept.append(item)
            self._messages = kept
        return taken

    def clear(self) -> None:
        with self._lock:
            self._messages.clear()


class StoredChannels:
    """The process-local channels a layer object stored messages on, and until when those may wait.

    The rule that keeps one sender's messages in order: a receiver takes the
    messages that came in datagrams before those stored in the file (it
    reads its socket before and after a take, so a datagram sent before a
    message was stored is in its inbox by the time it returns that message).
    So once a sender stored a message on a channel (no receiver was
    watching, its queue was full, the message too large), its later
    messages to that channel go to the file too, until the last stored one
    has expired: before then a direct one could overtake it. Group sends
    mark the members they stored on the same way.
    """

    PRUNE_ABOVE = 10000

    def __init__(self) -> None:
        self._until: dict[str, float] = {}
        self._lock = threading.Lock()  # a prune must not lose another thread's add

    def add(self, channel: str, expires: float, now: float) -> None:
        """Note a message stored on ``channel`` at ``now`` that expires at ``expires``."""
        with self._lock:
            if len(self._until) >= self.PRUNE_ABOVE:
                self._prune(now)
            self._until[channel] = expires

    def holds(self, channel: str, now: float) -> bool:
        """Return True if a message stored on ``channel`` may still wait in the file."""
        until = self._until.get(channel)
        return until is not None and until > now

    def prune(self, now: float) -> None:
        """Forget the channels whose stored messages have all expired by ``now``."""
        with self._lock:
            self._prune(now)

    def _prune(self, now: float) -> None:
        self._until = {channel: until for channel, until in self._until.items() if until > now}

    def clear(self) -> None:
        with self._lock:
            self._until = {}
