"""The Redis channel layer, in parts that each do one job.

``layer``
    :class:`RedisChannelLayer`: sending, receiving, groups, housekeeping.
``scripts``
    The Lua scripts that run each step atomically on the server.
``connections``
    A server: one connection per thread, and whether the server is down.
``resp``
    Commands packed by hand (and why, with figures).
``plan``, ``ring``
    Which keys a receive waits on, and which server holds a name.
``hosts``, ``crypto``, ``errors``
    The ``hosts`` setting, message encryption, and the layer's errors.

Import from here: ``channels_test.layers.redis.RedisChannelLayer`` is the
BACKEND path, and the errors are importable from here as well.
"""

from __future__ import annotations

from .connections import DOWN_RETRY_INTERVAL
from .errors import (
    RedisAuthenticationError,
    RedisCommandError,
    RedisOutOfMemoryError,
    RedisProtocolError,
    RedisReadOnlyError,
    RedisUnavailable,
)
from .hosts import DEFAULT_HOST
from .layer import SHARD_WAIT, RedisChannelLayer

__all__ = [
    "DEFAULT_HOST",
    "DOWN_RETRY_INTERVAL",
    "SHARD_WAIT",
    "RedisAuthenticationError",
    "RedisChannelLayer",
    "RedisCommandError",
    "RedisOutOfMemoryError",
    "RedisProtocolError",
    "RedisReadOnlyError",
    "RedisUnavailable",
]
