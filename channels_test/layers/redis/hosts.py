"""The ``hosts`` setting of the Redis layer: checked, and made into redis-py clients."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ImproperlyConfigured

__all__ = ["DEFAULT_HOST", "label_of", "make_client", "parse_hosts"]

DEFAULT_HOST = "redis://127.0.0.1:6379"


def parse_hosts(hosts: Any) -> list:
    """Return ``hosts`` as a list of URL strings and ``(host, port)`` tuples, checked."""
    if isinstance(hosts, str):
        hosts = [hosts]
    if not isinstance(hosts, (list, tuple)) or not hosts:
        raise ImproperlyConfigured(
            f"'hosts' must be a non-empty list of Redis URLs or (host, port) pairs, not {hosts!r}: "
            "e.g. ['redis://127.0.0.1:6379'] or [('127.0.0.1', 6379)]."
        )
    if len(hosts) == 2 and isinstance(hosts[0], str) and isinstance(hosts[1], int):
        hosts = [tuple(hosts)]  # a single ("host", port) pair written without the list
    parsed: list[str | tuple[str, int]] = []
    for host in hosts:
        if isinstance(host, str) and "://" in host:
            parsed.append(host)
        elif (
            isinstance(host, (list, tuple)) and len(host) == 2 and isinstance(host[0], str) and isinstance(host[1], int)
        ):
            parsed.append((host[0], host[1]))
        else:
            raise ImproperlyConfigured(
                f"Cannot use {host!r} in 'hosts': give a URL like 'redis://127.0.0.1:6379/0' "
                "or a (host, port) pair like ('127.0.0.1', 6379)."
            )
    return parsed


def make_client(host: Any, options: dict) -> Any:
    """Return a ``redis.Redis`` on its own pool for ``host`` (a URL or a (host, port) pair)."""
    try:
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry
    except ImportError as error:
        raise ImproperlyConfigured(
            "RedisChannelLayer needs the 'redis' package: pip install channels_test[redis]"
        ) from error
    # No automatic retry: a retried send whose first try reached the server
    # would deliver the message twice. A stale pooled connection is still
    # replaced before use.
    options = {"retry": Retry(NoBackoff(), 0), **options}
    if isinstance(host, str):
        pool = redis.ConnectionPool.from_url(host, **options)
    else:
        pool = redis.ConnectionPool(host=host[0], port=host[1], **options)
    return redis.Redis(connection_pool=pool)


def label_of(kwargs: dict) -> str:
    """Describe a server for error messages from its connection options (never its password)."""
    if "path" in kwargs:
        return f"unix:{kwargs['path']}"
    return f"{kwargs.get('host', 'localhost')}:{kwargs.get('port', 6379)}"
