"""Names kept from Channels 1.x that still work, with a warning naming the new one."""

from __future__ import annotations

import warnings


class ChannelsTestDeprecationWarning(DeprecationWarning):
    """Something Channels 1.x accepted that still works here, but should change.

    Filter it, or turn it into an error while migrating:
    ``python -W error::channels_test.deprecation.ChannelsTestDeprecationWarning``.
    """


def warn_deprecated(message: str, *, stacklevel: int = 3) -> None:
    """Warn with :class:`ChannelsTestDeprecationWarning`."""
    warnings.warn(message, ChannelsTestDeprecationWarning, stacklevel=stacklevel)


# Channels 1.x BACKEND paths -> ours.
LEGACY_BACKENDS = {
    "asgiref.inmemory.ChannelLayer": "channels_test.layers.inmemory.InMemoryChannelLayer",
    "asgi_redis.RedisChannelLayer": "channels_test.layers.redis.RedisChannelLayer",
    "asgi_redis.RedisSentinelChannelLayer": "channels_test.layers.sentinel.RedisSentinelChannelLayer",
    # Its machine-local channels (over asgi_ipc) go through Redis like the others here.
    "asgi_redis.RedisLocalChannelLayer": "channels_test.layers.redis.RedisChannelLayer",
    "asgi_ipc.IPCChannelLayer": "channels_test.layers.sqlite.SQLiteChannelLayer",
}


# CONFIG options of 1.x backends that have no meaning for ours: dropped with a warning.
LEGACY_IGNORED_OPTIONS = {
    "asgi_ipc.IPCChannelLayer": ("message_memory", "channel_memory", "group_memory"),
    "asgi_redis.RedisChannelLayer": ("stats_prefix",),
    "asgi_redis.RedisSentinelChannelLayer": ("stats_prefix",),
    "asgi_redis.RedisLocalChannelLayer": ("stats_prefix",),
}


def warn_renamed(old: str, new: str, *, stacklevel: int = 3) -> None:
    """Warn that ``old`` is deprecated and ``new`` replaces it."""
    warn_deprecated(f"{old} is deprecated; use {new}.", stacklevel=stacklevel + 1)


def resolve_backend(path: str) -> str:
    """Return our BACKEND path for ``path``, warning if it is a 1.x name."""
    new = LEGACY_BACKENDS.get(path)
    if new is None:
        return path
    warn_renamed(f"BACKEND {path!r}", repr(new), stacklevel=4)
    return new


def legacy_options(path: str, options: dict) -> dict:
    """Return ``options`` without the 1.x-only options of BACKEND ``path``, warning for each."""
    ignored = [name for name in LEGACY_IGNORED_OPTIONS.get(path, ()) if name in options]
    for name in ignored:
        warn_deprecated(
            f"CONFIG option {name!r} of {path} has no meaning for "
            f"{LEGACY_BACKENDS[path].rsplit('.', 1)[1]} and is ignored; remove it.",
            stacklevel=5,
        )
    return {key: value for key, value in options.items() if key not in ignored}
