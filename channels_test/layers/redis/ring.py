"""Which of several Redis servers holds a channel or a group: consistent hashing."""

from __future__ import annotations

import binascii
import bisect

__all__ = ["Ring"]

# Points per host on the hash ring: enough to spread channels evenly.
RING_POINTS = 160


class Ring:
    """Consistent hashing of names onto host positions 0..n-1.

    Each host owns many points on a ring of CRC32 values; a name belongs to
    the host owning the first point at or after its hash. Adding a host
    moves only the names that now fall to it. Points come from the host's
    position in ``hosts``, so every process listing the same hosts agrees.
    """

    def __init__(self, count: int):
        points = sorted(
            (binascii.crc32(f"host-{index}-{point}".encode()), index)
            for index in range(count)
            for point in range(RING_POINTS)
        )
        self._hashes = [value for value, _ in points]
        self._owners = [index for _, index in points]
        self._cache: dict[str, int] = {}

    def find(self, name: str) -> int:
        try:
            return self._cache[name]
        except KeyError:
            pass
        position = bisect.bisect_left(self._hashes, binascii.crc32(name.encode()))
        owner = self._owners[position % len(self._owners)]
        if len(self._cache) > 10000:
            self._cache.clear()
        self._cache[name] = owner
        return owner
