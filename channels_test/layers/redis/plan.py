"""What one receive waits on: the keys of its channels, grouped by the server holding them."""

from __future__ import annotations

import math
from collections.abc import Callable

from .resp import bulk

__all__ = ["Shard", "expires_of", "make_plan"]


class Shard:
    """The keys one receive waits on at one server, and the channel each key stands for."""

    def __init__(self, index: int, channel_prefix: str):
        self.index = index
        self.channel_prefix = channel_prefix
        self.keys: list[str] = []
        self.kinds: list[str] = []
        self.names: list[str] = []
        self.channels: dict[bytes, str] = {}
        self.index_keys: set[bytes] = set()
        self._keys_blob: bytes | None = None
        self._receive_tail: bytes | None = None

    def add(self, key: str, kind: str, channel: str) -> None:
        self.keys.append(key)
        self.kinds.append(kind)
        self.names.append(channel)
        self.channels[key.encode()] = channel
        if kind == "l":
            self.index_keys.add(key.encode())

    def receive_command(self, sha: str, turn: int) -> bytes:
        """Return the packed ``EVALSHA`` of the receive script, starting at key ``turn``."""
        if self._receive_tail is None or self._keys_blob is None:
            self._keys_blob = bulk(self.keys)
            self._receive_tail = bulk([self.channel_prefix, *self.kinds])
        count = len(self.keys)
        return b"".join(
            (
                b"*%d\r\n" % (5 + 2 * count),
                bulk(["EVALSHA", sha, count]),
                self._keys_blob,
                bulk([turn % count]),
                self._receive_tail,
            )
        )

    def blpop_command(self, wait: float) -> bytes:
        """Return the packed ``BLPOP`` of every key, waiting up to ``wait`` seconds."""
        if self._keys_blob is None:
            self._keys_blob = bulk(self.keys)
        return b"".join((b"*%d\r\n" % (2 + len(self.keys)), bulk(["BLPOP"]), self._keys_blob, bulk([f"{wait:.3f}"])))

    def channel_of(self, key: bytes | str) -> str:
        return self.channels[key if isinstance(key, bytes) else key.encode()]

    def is_index(self, key: bytes) -> bool:
        return key in self.index_keys


def make_plan(channels: tuple, host_of: Callable[[str], int], channel_prefix: str, index_prefix: str) -> list[Shard]:
    """Return a :class:`Shard` per server holding some of ``channels``, in first-seen order.

    A process-local prefix (``name!``) is waited on through its index list,
    any other channel through its own list.
    """
    shards: dict[int, Shard] = {}
    for name in channels:
        index = host_of(name)
        shard = shards.get(index)
        if shard is None:
            shard = shards[index] = Shard(index, channel_prefix)
        if name[-1] == "!":
            shard.add(index_prefix + name, "l", name)
        else:
            shard.add(channel_prefix + name, "c", name)
    return list(shards.values())


def expires_of(entry: bytes) -> float:
    """Return when a stored entry expires, in the server's ms (a damaged one: never)."""
    try:
        return int(entry.partition(b" ")[0])
    except ValueError:
        return math.inf  # damaged: fresh, so the layer opens it and logs it
