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
"""

from __future__ import annotations

import struct
import threading
from collections import deque

from .wake import DATAGRAM_LIMIT, MESSAGE

__all__ = ["Inbox", "StoredChannels", "encode_datagram", "parse_datagram"]

_HEADER = struct.Struct("!dB")


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
