"""The stored form of a message: checked, then encoded with msgpack, the same in every backend.

A message is a dict of str keys whose values are str, bytes, int, float,
bool, None, or lists and dicts of them; anything else is refused at
``send`` with an error naming where in the message it sits and what to
write instead. Decoding never runs code or builds anything but plain data.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

import msgpack

__all__ = [
    "MAX_MESSAGE_DEPTH",
    "UndecodableMessage",
    "decode_message",
    "encode_message",
    "plain_copy",
    "validate_message",
]


class UndecodableMessage(ValueError):
    """Stored bytes are not a message this layer wrote: damaged, or written by something else."""


_SCALARS = (str, bytes, int, float, bool, type(None))
# The exact types of the fast check (subclasses take the full walk).
_PLAIN_SCALARS = frozenset(_SCALARS)
_PLAIN_CONTAINERS = frozenset((dict, list, tuple))
# How deep the fast, recursive check goes before leaving the rest to the full walk.
_FAST_CHECK_DEPTH = 4

# How many dicts and lists deep a message may nest (the message itself is the
# first); msgpack itself takes up to 511, so every backend stores what passes.
MAX_MESSAGE_DEPTH = 256
# msgpack extension type of an int beyond 64 bits (stored as signed big-endian bytes).
_BIG_INT = 1
_packers = threading.local()


_HINTS = {
    "datetime": "use an ISO string, e.g. value.isoformat()",
    "date": "use an ISO string, e.g. value.isoformat()",
    "time": "use an ISO string, e.g. value.isoformat()",
    "Decimal": "use a str or a float",
    "UUID": "use str(value)",
    "set": "use a list",
    "frozenset": "use a list",
    "bytearray": "use bytes(value)",
}


def _describe_path(path: Iterable) -> str:
    parts = [f"[{part!r}]" for part in path]
    if len(parts) > 12:
        parts[6:-4] = [f"...({len(parts) - 10} more)..."]
    return "message" + "".join(parts)


def _type_error(value: Any, path: Iterable) -> TypeError:
    type_name = type(value).__name__
    hint = _HINTS.get(type_name, "messages hold only dict, list, tuple, str, bytes, int, float, bool and None")
    return TypeError(f"{_describe_path(path)}: {type_name} is not allowed ({hint})")


def _too_deep_error(message: dict, path: tuple) -> TypeError:
    """Describe a value nested past MAX_MESSAGE_DEPTH: a structure that holds itself, or just deep."""
    ancestors, value = [message], message
    for depth, part in enumerate(path, 1):
        value = value[part]
        for position, ancestor in enumerate(ancestors):
            if value is ancestor:
                return TypeError(
                    f"{_describe_path(path[:depth])}: the message contains itself here (this "
                    f"is the same object as {_describe_path(path[:position])}); a message must be plain "
                    "data that does not refer back to itself."
                )
        ancestors.append(value)
    return TypeError(
        f"{_describe_path(path)}: nested deeper than {MAX_MESSAGE_DEPTH} levels of dicts and "
        f"lists; a message may nest at most {MAX_MESSAGE_DEPTH} (flatten it, or send the deep "
        "part as a JSON string)."
    )


def _bad_key(key: Any, path: tuple) -> TypeError:
    return TypeError(f"{_describe_path(path)}: dict keys must be str, found {type(key).__name__} key {key!r}")


def _path_of(link: tuple | None, *last: Any) -> tuple:
    """Return the path of the container ``link`` leads to, plus ``last``."""
    parts = []
    while link is not None:
        key, link = link
        parts.append(key)
    parts.reverse()
    return (*parts, *last)


def _check(message: dict) -> None:
    """Raise TypeError for a disallowed value anywhere in ``message``, without recursing.

    Containers wait on a stack with their depth and a link to their parent
    (the path is spelled out only for an error). A container more than
    MAX_MESSAGE_DEPTH deep (or one holding itself, which is infinitely deep)
    is refused.
    """
    pending: list = [(message, None, 1)]
    while pending:
        container, link, depth = pending.pop()
        if depth > MAX_MESSAGE_DEPTH:
            raise _too_deep_error(message, _path_of(link))
        depth += 1
        if isinstance(container, dict):
            for key, item in container.items():
                if type(key) is not str and not isinstance(key, str):
                    raise _bad_key(key, _path_of(link))
                if type(item) in _SCALARS:
                    continue
                if isinstance(item, (dict, list, tuple)):
                    pending.append((item, (key, link), depth))
                elif not isinstance(item, _SCALARS):
                    raise _type_error(item, _path_of(link, key))
        else:
            index = 0  # counted by hand: enumerate() costs more on this hot path
            for item in container:
                if type(item) not in _SCALARS:
                    if isinstance(item, (dict, list, tuple)):
                        pending.append((item, (index, link), depth))
                    elif not isinstance(item, _SCALARS):
                        raise _type_error(item, _path_of(link, index))
                index += 1  # noqa: SIM113


def validate_message(message: Any) -> dict:
    """Check ``message`` holds only allowed types, at most MAX_MESSAGE_DEPTH deep; return it.

    Raises TypeError naming the path to the first bad value. What a receiver
    gets back is plain: tuples become lists, subclasses their base types.
    """
    if type(message) is dict and _plain(message, _FAST_CHECK_DEPTH):
        return message
    if not isinstance(message, dict):
        raise TypeError(
            f"A message must be a dict, not {type(message).__name__}: wrap the value, e.g. {{'value': ...}}."
        )
    _check(message)  # something deep or odd (maybe wrong): the full walk, which names the problem
    return message


def _plain(container: Any, depth: int) -> bool:
    """Return True if ``container`` holds only plain values of the exact allowed types, ``depth`` levels at most.

    The fast path of :func:`validate_message` for the usual shallow message;
    False sends it to the full walk, which finds (and names) what is wrong,
    if anything is.
    """
    items = container
    if type(container) is dict:
        for key in container:
            if type(key) is not str:
                return False
        items = container.values()
    for item in items:
        kind = type(item)
        if kind in _PLAIN_SCALARS:
            continue
        if kind not in _PLAIN_CONTAINERS or not depth or not _plain(item, depth - 1):
            return False
    return True


def plain_copy(message: Any, limit: int) -> dict | None:
    """Return what decoding ``message``'s encoded form would give, without encoding it, or None.

    The in-memory layer's shortcut: a message of the exact plain types,
    nested at most as deep as the fast check goes, is copied container by
    container (tuples become lists, as decoding makes them; the immutable
    values are shared). None means "encode and decode it": anything else
    (subclasses, ints beyond 64 bits, something wrong, which the full check
    then names), or a message whose encoded size could exceed ``limit``
    bytes, which only encoding tells exactly (the size counted here is an
    upper bound).
    """
    if type(message) is not dict:
        return None
    # _copy_plain's dict branch, written out again for the message itself: this runs for
    # every message, and calling _copy_plain here cost 1.7% of a test client's round trip.
    # A change to one of the two copies belongs in both.
    size = 5
    copy = {}
    for key, item in message.items():
        if type(key) is not str:
            return None
        kind = type(item)
        if kind is str or kind is bytes:
            size += 4 * (len(key) + len(item)) + 10
        elif kind in _PLAIN_SCALARS:
            if kind is int and not -(2**63) <= item < 2**64:
                return None
            size += 4 * len(key) + 14
        elif kind in _PLAIN_CONTAINERS:
            copied = _copy_plain(item, _FAST_CHECK_DEPTH - 1)
            if copied is None:
                return None
            item, item_size = copied
            size += 4 * len(key) + 5 + item_size
        else:
            return None
        copy[key] = item
    return copy if size <= limit else None


def _copy_plain(container: Any, depth: int) -> tuple[Any, int] | None:
    """Return a copy of ``container`` (see :func:`plain_copy`) and its most bytes encoded, or None.

    Sizes by msgpack's longest headers: 5 bytes for a container, a str or
    bytes, 9 for any other value; a str's text at most 4 bytes a character.
    """
    size = 5
    if type(container) is dict:
        copy: Any = {}
        for key, item in container.items():
            if type(key) is not str:
                return None
            kind = type(item)
            if kind is str or kind is bytes:
                size += 4 * (len(key) + len(item)) + 10
            elif kind in _PLAIN_SCALARS:
                if kind is int and not -(2**63) <= item < 2**64:
                    return None
                size += 4 * len(key) + 14
            elif kind in _PLAIN_CONTAINERS and depth:
                copied = _copy_plain(item, depth - 1)
                if copied is None:
                    return None
                item, item_size = copied
                size += 4 * len(key) + 5 + item_size
            else:
                return None
            copy[key] = item
        return copy, size
    copy = []
    for item in container:
        kind = type(item)
        if kind is str or kind is bytes:
            size += 4 * len(item) + 5
        elif kind in _PLAIN_SCALARS:
            if kind is int and not -(2**63) <= item < 2**64:
                return None
            size += 9
        elif kind in _PLAIN_CONTAINERS and depth:
            copied = _copy_plain(item, depth - 1)
            if copied is None:
                return None
            item, item_size = copied
            size += item_size
        else:
            return None
        copy.append(item)
    return copy, size


def _encode_default(value: Any) -> Any:
    # msgpack calls this for ints beyond 64 bits: keep them whole as signed bytes.
    if isinstance(value, int):
        return msgpack.ExtType(_BIG_INT, value.to_bytes(value.bit_length() // 8 + 1, "big", signed=True))
    raise TypeError(f"{type(value).__name__} is not allowed in a message")


def _decode_ext(code: int, data: bytes) -> Any:
    if code == _BIG_INT:
        return int.from_bytes(data, "big", signed=True)
    raise ValueError(f"unknown extension type {code}")


def encode_message(message: dict) -> bytes:
    """Encode a validated message to bytes (the stored form in every backend)."""
    packer = getattr(_packers, "strict", None)
    if packer is None:
        # One per thread: a Packer is not thread-safe, and making one per call costs more
        # than the packing of a small message.
        packer = _packers.strict = msgpack.Packer(use_bin_type=True, default=_encode_default)
    try:
        return packer.pack(message)
    except UnicodeEncodeError:
        # A str holding a lone surrogate (a file name decoded with surrogateescape) is a
        # str like any other and comes back the same; this packer is slower, so only here.
        return msgpack.Packer(
            use_bin_type=True,
            default=_encode_default,
            unicode_errors="surrogatepass",
        ).pack(message)


def decode_message(data: bytes) -> dict:
    """Decode bytes made by :func:`encode_message` into a fresh dict.

    Raises :class:`UndecodableMessage` for anything else (damaged or foreign
    bytes); decoding never runs code or builds anything but plain data.
    """
    try:
        message = msgpack.unpackb(
            data,
            raw=False,
            ext_hook=_decode_ext,
            timestamp=1,
            strict_map_key=True,
            unicode_errors="surrogatepass",
        )
    except Exception as error:  # msgpack raises several classes for bad input
        detail = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
        raise UndecodableMessage(detail) from error
    if not isinstance(message, dict):
        raise UndecodableMessage(f"found a {type(message).__name__}, not a dict")
    return message
