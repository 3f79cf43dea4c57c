"""The errors of the Redis layers: each failure of a Redis server, named.

Every error the ``redis`` package raises while a layer talks to a server
leaves the layer as :class:`RedisUnavailable` or a subclass (all
``ConnectionError``), made by :func:`describe_error` with a message that
names the server, what is wrong and what to do.
"""

from __future__ import annotations

__all__ = [
    "RedisAuthenticationError",
    "RedisCommandError",
    "RedisOutOfMemoryError",
    "RedisProtocolError",
    "RedisReadOnlyError",
    "RedisUnavailable",
    "describe_error",
]


class RedisUnavailable(ConnectionError):
    """The layer cannot use one of its Redis servers; the message names it and why.

    Raised as such when the server cannot be reached or does not answer in
    time; the subclasses below name other failures. Every error from the
    ``redis`` package leaves the layer as one of these, and all are
    ``ConnectionError``, so a worker rides them out as an outage.

    ``may_have_run`` is True when the command had been sent before the
    failure: the server may have carried it out (a send may have been
    delivered), so do not resend blindly. When False, nothing reached the
    server and retrying cannot deliver a message twice.
    """

    #: The server cannot serve this layer at all until fixed or restarted
    #: (False where only some commands fail, as when it is out of memory).
    server_down = True

    def __init__(self, message: str, *, may_have_run: bool = False):
        super().__init__(message)
        self.may_have_run = may_have_run


class RedisAuthenticationError(RedisUnavailable):
    """The server refused the layer's password or user (or the user may not run our commands)."""


class RedisProtocolError(RedisUnavailable):
    """Something that does not speak the Redis protocol answered at the server's address."""


class RedisReadOnlyError(RedisUnavailable):
    """The server is a read-only replica: the layer needs the master to write."""


class RedisOutOfMemoryError(RedisUnavailable):
    """The server reached its ``maxmemory``: sends fail, receives (which free memory) work."""

    server_down = False


class RedisCommandError(RedisUnavailable):
    """The server answered a command with an error other than the ones above."""

    server_down = False


def describe_error(
    label: str, error: BaseException, *, may_have_run: bool, hosts_hint: str = "fix 'hosts' in the layer CONFIG"
) -> RedisUnavailable:
    """Return the layer error for ``error``, raised by the ``redis`` package talking to ``label``."""
    import redis.exceptions as errors

    detail = str(error) or type(error).__name__
    where = f"the Redis server {label} of the channel layer"
    kind: type[RedisUnavailable]
    if isinstance(error, (errors.AuthenticationError, errors.NoPermissionError)):
        kind, text = (
            RedisAuthenticationError,
            (
                f"{where[0].upper()}{where[1:]} refused the layer's credentials ({detail}). Put the "
                "password in the URL in 'hosts' (redis://:password@host:port/0), or 'username' and "
                "'password' in 'connection_kwargs', and give that user every command on the prefix's "
                "keys."
            ),
        )
    elif isinstance(error, errors.InvalidResponse):
        kind, text = (
            RedisProtocolError,
            (
                f"Something other than a Redis server answers at {label}, an address of the channel "
                f"layer ({detail}): another service (an HTTP server?) listens there, or the server "
                f"wants TLS (rediss://). Point the layer at Redis: {hosts_hint}."
            ),
        )
    elif isinstance(error, errors.ReadOnlyError):
        kind, text = (
            RedisReadOnlyError,
            (
                f"{where[0].upper()}{where[1:]} is a read-only replica ({detail}). Point the layer "
                f"at the master ({hosts_hint}), or use RedisSentinelChannelLayer to follow "
                "failovers."
            ),
        )
    elif isinstance(error, errors.OutOfMemoryError):
        kind, text = (
            RedisOutOfMemoryError,
            (
                f"{where[0].upper()}{where[1:]} is out of memory ({detail}): its 'maxmemory' is "
                "reached. Start more workers to drain the channels, lower 'capacity' or 'expiry', "
                "or give the server more memory."
            ),
        )
    elif isinstance(error, errors.BusyLoadingError):
        kind, text = (
            RedisUnavailable,
            (f"{where[0].upper()}{where[1:]} is loading its data set ({detail}); it answers once loaded."),
        )
    elif isinstance(error, (errors.TimeoutError, TimeoutError)):
        kind, text = (
            RedisUnavailable,
            (
                f"{where[0].upper()}{where[1:]} did not answer in time ({detail}). Check that it "
                f"runs and is not overloaded, or {hosts_hint} (raise 'socket_timeout' for a slow "
                "network)."
            ),
        )
    elif isinstance(error, (errors.ConnectionError, OSError)):
        kind, text = RedisUnavailable, (f"Cannot reach {where} ({detail}). Start it, or {hosts_hint}.")
    else:
        kind, text = (
            RedisCommandError,
            (
                f"{where[0].upper()}{where[1:]} answered with an error ({type(error).__name__}: "
                f"{detail}). Check the server's log."
            ),
        )
    return kind(text, may_have_run=may_have_run)
