"""The channel-layer contract every backend shares.

:class:`BaseChannelLayer` does everything that must not differ between
backends: it validates channel and group names and messages, checks sizes,
resolves capacities and makes new channel names. A backend subclasses it and
implements the storage primitives (``_send`` and ``_send_group``, which take
the encoded message, ``_receive``, ``group_add``, ``group_discard``,
``group_channels``, ``flush``).
"""

from __future__ import annotations

import fnmatch
import functools
import logging
import re
import secrets
import string
import time
from collections.abc import Callable, Iterable
from typing import Any

from ._held import HELD_METHODS, LayerType, replaced, track
from .encoding import (
    MAX_MESSAGE_DEPTH,
    UndecodableMessage,
    decode_message,
    encode_message,
    validate_message,
)

__all__ = [
    "BaseChannelLayer",
    "ChannelFull",
    "MessageTooLarge",
    "UndecodableMessage",
    "MAX_MESSAGE_DEPTH",
    "encode_message",
    "decode_message",
    "validate_message",
    "process_local_name",
]


class ChannelFull(Exception):
    """The channel holds ``capacity`` messages already; try again later."""


class MessageTooLarge(Exception):
    """The encoded message is larger than the layer's ``max_message_size``."""


MAX_NAME_LENGTH = 100
#: How many distinct channel lists a layer remembers having validated in receive().
CHECKED_CHANNEL_LISTS = 1000
# Matched with fullmatch: "$" would also accept a name ending in a newline.
_NAME_RE = re.compile(r"[a-zA-Z0-9\-_.]+([!?][a-zA-Z0-9\-_.]*)?")
_GROUP_RE = re.compile(r"[a-zA-Z0-9\-_.]+")
_RANDOM_ALPHABET = string.ascii_letters + string.digits


def random_letters(count: int) -> str:
    """Return ``count`` random ASCII letters and digits (for names nobody can guess)."""
    return random_string(count, _RANDOM_ALPHABET)


@functools.lru_cache(maxsize=8)
def _byte_tables(alphabet: str) -> tuple[bytes, bytes]:
    """Return (table, dropped) for bytes.translate: byte -> character, and the bytes to drop."""
    size = len(alphabet)
    if not 1 < size <= 256 or not alphabet.isascii():
        raise ValueError(f"random_string() needs 2 to 256 ASCII characters, not {alphabet!r}")
    table = bytes(ord(alphabet[value % size]) for value in range(256))
    # The top 256 % size byte values would make the first characters likelier: drop them.
    return table, bytes(range(256 - 256 % size, 256))


def random_string(count: int, alphabet: str) -> str:
    """Return ``count`` characters of ``alphabet``, each equally likely, from the system's random source.

    As ``"".join(secrets.choice(alphabet) for _ in range(count))``, with one
    read of the random source instead of one per character.
    """
    table, dropped = _byte_tables(alphabet)
    text = b""
    while len(text) < count:
        text += secrets.token_bytes(count + count // 4 + 2).translate(table, dropped)
    return text[:count].decode("ascii")


def process_local_name(prefix: str) -> str:
    """Return a new process-local channel name: ``prefix`` (ending in ``!``) plus random letters.

    An interface server receives on ``prefix`` and gets what is sent to every
    name made from it. The 12 random letters make a name nobody can guess.
    """
    if not isinstance(prefix, str) or not prefix.endswith("!") or prefix.count("!") != 1:
        raise ValueError(
            f"A process-local name is made from a prefix ending in its only '!', not {prefix!r}: "
            "e.g. process_local_name('http.response.myprocess!')."
        )
    return prefix + random_letters(12)


class BaseChannelLayer(metaclass=LayerType):
    """The shared part of every channel layer.

    Settings (the ``CONFIG`` of a ``CHANNEL_LAYERS`` entry), all keyword-only:

    ``expiry``
        Seconds an unread message lives (default 60).
    ``group_expiry``
        Seconds a group membership lives unless renewed (default 86400).
    ``capacity``
        Messages a channel holds before ``send`` raises ``ChannelFull``
        (default 100).
    ``channel_capacity``
        A dict of glob pattern (or compiled regex) -> capacity, checked in
        order; the first match wins over ``capacity``.
    ``max_message_size``
        Bytes an encoded message may take (default 1 MiB) before ``send``
        raises ``MessageTooLarge``.
    ``prefix``
        Namespace of this layer's data in a shared store.
    ``clock``
        A function returning the time in seconds that message and membership
        expiry is measured on (default: the class's ``clock``). Tests pass a
        fake one to move expiry forward without sleeping; blocking waits
        still take real time. The Redis layers take their time from the
        server instead, and refuse this setting.
    """

    extensions: list[str] = ["groups", "flush"]
    ChannelFull = ChannelFull
    MessageTooLarge = MessageTooLarge
    # Where a backend reports stored messages it had to skip; each names its own module.
    logger = logging.getLogger("channels_test.layers")
    # Flag attribute -> the methods its short cut stands in for (see _held):
    # the outbox's encoded sends, for held messages, stand in for send and send_group.
    _short_cuts: dict[str, tuple[str, ...]] = {"_own_sends": ("send", "send_group")}
    _own_sends: bool
    #: The time expiry is measured on, in seconds. Layers whose data several
    #: processes share need the wall clock; a subclass may swap it.
    clock: Callable[[], float] = staticmethod(time.time)

    def __init__(
        self,
        *,
        prefix: str = "channels_test",
        expiry: float = 60,
        group_expiry: float = 86400,
        capacity: int = 100,
        channel_capacity: dict | None = None,
        max_message_size: int = 1024 * 1024,
        clock: Callable[[], float] | None = None,
    ):
        if clock is not None:
            if not callable(clock):
                raise TypeError(f"clock must be a function returning seconds (like time.time), not {clock!r}.")
            self.clock = clock
        for name, value in (("expiry", expiry), ("group_expiry", group_expiry)):
            if not isinstance(value, (int, float)) or value <= 0:
                raise ValueError(f"{name} must be a positive number of seconds, not {value!r}.")
        for name, value in (("capacity", capacity), ("max_message_size", max_message_size)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int, not {value!r}.")
        if not isinstance(prefix, str) or not _GROUP_RE.fullmatch(prefix):
            raise ValueError(f"prefix must be letters, digits, '-', '_' or '.', not {prefix!r}.")
        self.prefix = prefix
        self.expiry = expiry
        self.group_expiry = group_expiry
        self.capacity = capacity
        self.max_message_size = max_message_size
        self.channel_capacity = self._compile_capacities(channel_capacity or {})
        self._capacity_cache: dict[str, int] = {}
        self._receive_cache: tuple | None = None
        # Channel lists receive() validated already (test clients alternate
        # between a few), kept up to CHECKED_CHANNEL_LISTS of them.
        self._checked_channels: dict[tuple, tuple[tuple, frozenset]] = {}
        # Channel names send() validated already (reply channels recur), up to CHECKED_CHANNEL_LISTS.
        self._sendable: dict[str, None] = {}
        track(self)  # sets the flags of _short_cuts

    def __setattr__(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)
        if name in HELD_METHODS:  # a replaced method (mock.patch.object(layer, "send"))
            replaced(self)

    def __delattr__(self, name: str) -> None:
        object.__delattr__(self, name)
        if name in HELD_METHODS:
            replaced(self)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} prefix={self.prefix!r}>"

    # -- the public API ---------------------------------------------------

    def send(self, channel: str, message: dict) -> None:
        """Send ``message`` to ``channel``.

        Raises ``ChannelFull`` when the channel is at capacity,
        ``MessageTooLarge`` above ``max_message_size``, ``TypeError`` for a
        message that holds anything but plain data.
        """
        if type(channel) is not str or channel not in self._sendable:
            self._check_sendable(channel)
        self._send(channel, self.encode_for_later(message))

    def send_group(self, group: str, message: dict) -> None:
        """Send ``message`` to every channel in ``group``; full channels miss it."""
        self.validate_group_name(group)
        self._send_group(group, self.encode_for_later(message))

    def encode_for_later(self, message: dict) -> bytes:
        """Validate and encode ``message`` now, to send it later with :meth:`send_encoded`.

        What a consumer sends is held until it returns; holding the encoded
        form keeps the message as it was when sent (the consumer may change
        the dict afterwards) and spares encoding it twice. Raises what
        :meth:`send` raises for the message itself (``TypeError``,
        ``MessageTooLarge``). What it returns is the layer's stored form
        (bytes here; a layer in this process may keep a copy of the dict).
        """
        return self.encode(validate_message(message))

    def send_encoded(self, channel: str, data: bytes) -> None:
        """Send a message :meth:`encode_for_later` of this layer encoded to ``channel``."""
        if type(channel) is not str or channel not in self._sendable:
            self._check_sendable(channel)
        self._send(channel, data)

    def send_group_encoded(self, group: str, data: bytes) -> None:
        """Send a message :meth:`encode_for_later` of this layer encoded to ``group``."""
        self.validate_group_name(group)
        self._send_group(group, data)

    def send_and_receive(self, channel: str, message: dict) -> tuple:
        """Send ``message`` to ``channel``, then take the next message there without waiting.

        What ``send(channel, message)`` then ``receive([channel])`` do; the
        test clients' ``send_and_consume`` calls it. The in-memory layer does
        it in one step, handing ``message`` straight back when nothing else
        is waiting on the channel.
        """
        self.send(channel, message)
        return self.receive((channel,))

    def receive(self, channels: Iterable[str], block: bool = False) -> tuple:
        """Take the next message from any of ``channels``.

        Returns ``(channel, message)``, or ``(None, None)`` when none is waiting
        (with ``block=True``, after waiting a short, backend-defined time).
        Receiving on a name ending in ``!`` takes messages sent to any channel
        made from it by ``new_channel``, and returns that channel's full name.
        """
        names = self._receive_names(channels)
        if not names:
            return None, None
        return self._receive(names, block)

    def _receive_names(self, channels: Iterable[str]) -> tuple:
        """Return ``channels`` checked as :meth:`receive` checks them (each list once); ``()`` for none.

        Workers pass the same tuple on every call, test clients a few. Also
        for a backend's other ways of receiving, such as the SQLite layer's
        ``watch`` and ``try_receive``.
        """
        known = self._receive_cache
        if known is None or known[0] is not channels:
            known = self._checked_channels.get(channels) if type(channels) is tuple else None
            if known is None:
                known = self._check_receive(channels)
                if known is None:
                    return ()
            self._receive_cache = known
        return known[0]

    def _check_receive(self, channels: Iterable[str]) -> tuple[tuple, frozenset] | None:
        """Validate the names ``receive`` got and remember them; None for no names at all."""
        if isinstance(channels, str):
            raise TypeError(
                f"receive() takes a list of channel names, not the str {channels!r}: write receive([{channels!r}])."
            )
        channels = tuple(channels)
        checked = self._checked_channels
        known = checked.get(channels)
        if known is None:
            for name in channels:
                self.validate_channel_name(name, receive=True)
            if not channels:
                return None
            if len(checked) >= CHECKED_CHANNEL_LISTS:
                checked.clear()
            known = checked[channels] = (channels, frozenset(channels))
        return known

    def receive_many(self, channels: Iterable[str], block: bool = False) -> tuple:
        """Deprecated alias of :meth:`receive`."""
        from ..deprecation import warn_deprecated

        warn_deprecated(
            "receive_many() is deprecated; use receive(), which takes the same arguments.",
            stacklevel=3,
        )
        return self.receive(channels, block=block)

    def new_channel(self, pattern: str) -> str:
        """Return a new single-reader channel name: ``pattern`` (ending in ``?``) plus random letters.

        As the ASGI 1 layer spec says, only ``?`` patterns are made here;
        a process-local reply name is its ``!`` prefix plus letters of the
        process's own choosing (see :func:`process_local_name`).
        """
        if not isinstance(pattern, str) or not pattern.endswith("?"):
            hint = (
                f" For a process-local name, append to the prefix yourself: channels_test.layers.base.process_local_name({pattern!r})."
                if isinstance(pattern, str) and pattern.endswith("!")
                else ""
            )
            raise ValueError(
                f"new_channel() needs a pattern ending in '?', not {pattern!r}: "
                f"e.g. new_channel('http.request.body?').{hint}"
            )
        self.validate_channel_name(pattern + "x")
        while True:
            name = pattern + random_letters(12)
            if not self._channel_exists(name):
                return name

    def get_capacity(self, channel: str) -> int:
        """Return how many messages ``channel`` may hold."""
        try:
            return self._capacity_cache[channel]
        except KeyError:
            pass
        capacity = self.capacity
        for pattern, value in self.channel_capacity:
            if pattern.match(channel):
                capacity = value
                break
        if len(self._capacity_cache) > 10000:
            self._capacity_cache.clear()
        self._capacity_cache[channel] = capacity
        return capacity

    # -- validation -------------------------------------------------------

    def validate_channel_name(self, name: Any, receive: bool = False) -> None:
        """Raise TypeError/ValueError unless ``name`` is a valid channel name.

        With ``receive=True`` a name ending in ``!`` is allowed (it receives
        for every channel made from it) and a full process-local name
        (``prefix!suffix``) is not.
        """
        if not isinstance(name, str):
            raise TypeError(f"Channel name must be a str, not {type(name).__name__}: {name!r}")
        if len(name) >= MAX_NAME_LENGTH:
            raise ValueError(f"Channel name {name!r} is {len(name)} characters; names must be under {MAX_NAME_LENGTH}.")
        if not _NAME_RE.fullmatch(name):
            raise ValueError(
                f"Invalid channel name {name!r}: use ASCII letters, digits, '-', '_' and "
                "'.', with at most one '!' (process-local) or '?' (single-reader) marker."
            )
        if name.endswith("!") and not receive:
            raise ValueError(
                f"Cannot send to {name!r}: a name ending in '!' is only for receiving; "
                "send to a full name made from it (e.g. by process_local_name())."
            )
        if receive and "!" in name and not name.endswith("!"):
            prefix = name[: name.index("!") + 1]
            raise ValueError(
                f"Cannot receive on {name!r}: a process-local channel is received on its "
                f"prefix, receive([{prefix!r}]), which returns the full name with each message."
            )

    def _check_sendable(self, name: Any) -> None:
        """Validate ``name`` for sending and remember it, so the next send to it skips the check."""
        self.validate_channel_name(name)
        if len(self._sendable) >= CHECKED_CHANNEL_LISTS:
            self._sendable.clear()
        self._sendable[name] = None

    def validate_group_name(self, name: Any) -> None:
        """Raise TypeError/ValueError unless ``name`` is a valid group name."""
        if not isinstance(name, str):
            raise TypeError(f"Group name must be a str, not {type(name).__name__}: {name!r}")
        if len(name) >= MAX_NAME_LENGTH or not _GROUP_RE.fullmatch(name):
            raise ValueError(
                f"Invalid group name {name!r}: use under {MAX_NAME_LENGTH} ASCII letters, digits, '-', '_' and '.'."
            )

    def encode(self, message: dict) -> bytes:
        """Encode a validated message, raising MessageTooLarge above the limit."""
        data = encode_message(message)
        if len(data) > self.max_message_size:
            raise MessageTooLarge(
                f"Message is {len(data)} bytes encoded; this layer takes at most "
                f"{self.max_message_size} (raise max_message_size in its CONFIG, or "
                "send large bodies in chunks)."
            )
        return data

    def decode(self, channel: str, data: bytes) -> dict | None:
        """Decode a message taken off ``channel``; log and return None if it cannot be.

        A stored message that is damaged (or was not written by this layer)
        is lost, but only that one: the receiver goes on with the next.
        """
        try:
            return decode_message(data)
        except UndecodableMessage as error:
            self.logger.error(
                "Skipped a message on channel %r that cannot be decoded (%s); it was damaged "
                "in storage or written by something other than this version of channels_test. "
                "That message is lost; receiving goes on.",
                channel,
                error,
            )
            return None

    def _wanted(self, channels: tuple) -> frozenset:
        """Return ``channels`` as a set, cached for the tuple ``receive`` last saw."""
        cached = self._receive_cache
        if cached is not None and cached[0] is channels:
            return cached[1]
        return frozenset(channels)

    @staticmethod
    def non_local_name(channel: str) -> str:
        """Return the part of ``channel`` up to and including ``!``, or the name."""
        index = channel.find("!")
        return channel if index < 0 else channel[: index + 1]

    # -- what a backend implements -----------------------------------------

    def _send(self, channel: str, data: bytes) -> None:
        """Store ``data`` (a message :meth:`encode` made) on ``channel``; raise ChannelFull at capacity."""
        raise NotImplementedError

    def _send_group(self, group: str, data: bytes) -> None:
        """Store ``data`` on every member channel of ``group`` that has room."""
        raise NotImplementedError

    def _receive(self, channels: tuple, block: bool) -> tuple:
        raise NotImplementedError

    def _channel_exists(self, channel: str) -> bool:
        return False

    def group_add(self, group: str, channel: str) -> None:
        raise NotImplementedError

    def group_discard(self, group: str, channel: str) -> None:
        raise NotImplementedError

    def group_channels(self, group: str) -> list[str]:
        raise NotImplementedError

    def flush(self) -> None:
        raise NotImplementedError

    # -- helpers ------------------------------------------------------------

    def _check_membership_args(self, group: str, channel: str) -> None:
        self.validate_group_name(group)
        self.validate_channel_name(channel)

    @staticmethod
    def _compile_capacities(channel_capacity: dict) -> list:
        compiled = []
        for pattern, value in channel_capacity.items():
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"channel_capacity[{pattern!r}] must be a positive int, not {value!r}.")
            if isinstance(pattern, str):
                pattern = re.compile(fnmatch.translate(pattern))
            elif not hasattr(pattern, "match"):
                raise TypeError(f"channel_capacity keys are glob strings or compiled regexes, not {pattern!r}.")
            compiled.append((pattern, value))
        return compiled
