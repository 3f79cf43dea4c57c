"""The Redis channel layer on masters that Redis Sentinel watches, following their failovers.

The counterpart of asgi_redis's ``RedisSentinelChannelLayer``, with its
settings: ``hosts`` lists the sentinels, ``services`` the masters they
monitor (each one a shard, as the servers of ``RedisChannelLayer`` are).
The layer asks the sentinels where each master is (``redis.sentinel`` of
the ``redis`` package) whenever it opens a connection, so after a failure
it finds the master the sentinels promoted.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from .redis import RedisChannelLayer, RedisUnavailable
from .redis.connections import Server

__all__ = ["RedisSentinelChannelLayer"]

DEFAULT_SENTINEL = ("localhost", 26379)
# Options of redis.sentinel.Sentinel itself, taken out of connection_kwargs.
_SENTINEL_OPTIONS = ("sentinel_kwargs", "min_other_sentinels", "force_master_ip")


class SentinelSettingError(ImproperlyConfigured, ValueError):
    """A malformed ``hosts`` or ``services`` (asgi_redis raised ValueError for these)."""


class RedisSentinelChannelLayer(RedisChannelLayer):
    """A Redis channel layer whose servers are the masters of Sentinel services.

    Settings (keyword-only), as asgi_redis 1.4 named them:

    ``hosts``
        The sentinels, as ``(host, port)`` pairs (default
        ``[("localhost", 26379)]``). Any one that answers will do.
    ``services``
        Names of the masters the sentinels monitor (``sentinel monitor
        <name> ...``). Channels are spread over them by consistent hashing,
        as over the ``hosts`` of ``RedisChannelLayer``, so every process must
        list the same services in the same order. Empty or missing: every
        master the first answering sentinel knows, in name order, asked once
        when the layer is made.
    ``sentinel_refresh_interval``
        Seconds. Besides asking the sentinels where a master is each time a
        connection opens (after any failure), ask them again every this many
        seconds and move to the master they name if it changed. 0 (the
        default) asks only when a connection opens.
    ``connection_kwargs``
        Options for the connections to the masters (``password``,
        ``username``, ``ssl``...); ``socket_*`` ones apply to the sentinels
        too. ``sentinel_kwargs`` (options for the sentinel connections only,
        such as their password), ``min_other_sentinels`` and
        ``force_master_ip`` go to ``redis.sentinel.Sentinel``.

    Every other setting is ``RedisChannelLayer``'s (``prefix``, ``expiry``,
    ``capacity``, ``blocking_timeout``...), with the same meaning.
    """

    def __init__(
        self,
        *,
        hosts: list | tuple | None = None,
        services: list | tuple | None = None,
        sentinel_refresh_interval: float = 0,
        **config: Any,
    ):
        if (
            isinstance(sentinel_refresh_interval, bool)
            or not isinstance(sentinel_refresh_interval, (int, float))
            or sentinel_refresh_interval < 0
        ):
            raise ValueError(
                f"sentinel_refresh_interval must be a number of seconds >= 0, not {sentinel_refresh_interval!r}."
            )
        self.sentinel_refresh_interval = sentinel_refresh_interval
        self._services_setting = _check_services(services)
        self.services: list[str] = []
        self.sentinel: Any = None
        super().__init__(hosts=hosts, **config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} prefix={self.prefix!r} services={self.services!r}>"

    def _check_hosts(self, hosts: Any) -> list:
        return _check_sentinels([DEFAULT_SENTINEL] if hosts is None else hosts)

    def _make_servers(self, options: dict) -> list:
        from redis.backoff import NoBackoff
        from redis.retry import Retry
        from redis.sentinel import Sentinel

        options = dict(options)
        sentinel_options = {name: options.pop(name) for name in _SENTINEL_OPTIONS if name in options}
        self.sentinel = Sentinel(self.hosts, **sentinel_options, **options)
        self.services = self._services_setting or self._ask_services()
        several = len(self.services) > 1
        servers = []
        for service in self.services:
            # No automatic retry, as for RedisChannelLayer: a retried send could arrive twice.
            client = self.sentinel.master_for(service, retry=Retry(NoBackoff(), 0))
            servers.append(
                _SentinelServer(
                    client, service, self.sentinel_refresh_interval, self._sentinel_labels(), log_changes=several
                )
            )
        return servers

    def _sentinel_labels(self) -> str:
        return ", ".join(f"{host}:{port}" for host, port in self.hosts)

    def _ask_services(self) -> list[str]:
        """Return the names of every master the first sentinel that answers monitors."""
        import redis

        problems = []
        for sentinel in self.sentinel.sentinels:
            try:
                masters = sentinel.sentinel_masters()
            except (redis.RedisError, OSError) as error:
                problems.append(str(error))
                continue
            if not masters:
                raise ImproperlyConfigured(
                    f"The sentinels at {self._sentinel_labels()} monitor no master: add "
                    "'sentinel monitor <name> <host> <port> <quorum>' to their configuration, "
                    "or list 'services' in the layer CONFIG."
                )
            return sorted(masters)
        raise RedisUnavailable(
            f"None of the sentinels at {self._sentinel_labels()} answered ({'; '.join(problems)}), "
            "so the layer cannot learn its services. Start them, fix 'hosts', or list "
            "'services' in the layer CONFIG."
        )

    def close(self) -> None:
        """Close the connections to the masters and to the sentinels (new ones open on demand)."""
        super().close()
        if self.sentinel is not None:
            for sentinel in self.sentinel.sentinels:
                sentinel.connection_pool.disconnect()


class _SentinelServer(Server):
    """The master of one Sentinel service; each new connection asks the sentinels where it is."""

    def __init__(
        self, client: Any, service: str, refresh_interval: float, sentinels: str, *, log_changes: bool = False
    ):
        self.service = service
        self.refresh_interval = refresh_interval
        self.sentinels = sentinels
        self.hosts_hint = f"check the sentinels at {sentinels} ('hosts') and 'services' in the layer CONFIG"
        super().__init__(client, service, log_changes=log_changes)
        self._pool = client.connection_pool
        self._checks = threading.local()

    @property
    def label(self) -> str:
        address = self._pool.master_address
        where = "" if address is None else f" at {address[0]}:{address[1]}"
        return f"{self.service!r} (the Sentinel master{where})"

    def describe(self, error: BaseException, *, may_have_run: bool) -> RedisUnavailable:
        from redis.sentinel import MasterNotFoundError

        if isinstance(error, MasterNotFoundError):
            # redis-py's text lists each sentinel client's full repr; say it shortly.
            return RedisUnavailable(
                f"No sentinel at {self.sentinels} names a master of service {self.service!r} "
                "that is up: a failover is under way, the master is down with no replica to "
                "promote, the sentinels cannot be reached, or the name is wrong. Check the "
                "sentinels ('hosts') and 'services' in the layer CONFIG.",
                may_have_run=may_have_run,
            )
        return super().describe(error, may_have_run=may_have_run)

    def _connection(self) -> Any:
        if self.refresh_interval > 0:
            now = time.monotonic()
            if now >= getattr(self._checks, "next", 0.0):
                self._checks.next = now + self.refresh_interval
                held = self._threads.peek()
                address = self._pool.get_master_address()
                if held is not None and (held.connection.host, held.connection.port) != tuple(address):
                    self._forget()  # the sentinels moved the master: reconnect to the new one
        return super()._connection()


def _check_sentinels(hosts: Any) -> list:
    if isinstance(hosts, (str, bytes)) or not isinstance(hosts, (list, tuple)) or not hosts:
        raise SentinelSettingError(
            f"'hosts' of RedisSentinelChannelLayer must be a non-empty list of the sentinels' "
            f"(host, port) pairs, not {hosts!r}: e.g. [('10.0.0.1', 26379), ('10.0.0.2', 26379)]."
        )
    if len(hosts) == 2 and isinstance(hosts[0], str) and isinstance(hosts[1], int):
        hosts = [hosts]  # a single (host, port) pair written without the list
    checked = []
    for host in hosts:
        if not (
            isinstance(host, (list, tuple))
            and len(host) == 2
            and isinstance(host[0], str)
            and isinstance(host[1], int)
            and not isinstance(host[1], bool)
        ):
            raise SentinelSettingError(
                f"Cannot use {host!r} in 'hosts' of RedisSentinelChannelLayer: give each "
                "sentinel as a (host, port) pair, like ('127.0.0.1', 26379) (URLs are not taken)."
            )
        checked.append((host[0], host[1]))
    return checked


def _check_services(services: Any) -> list[str]:
    if services is None:
        return []
    if isinstance(services, (str, bytes)) or not isinstance(services, (list, tuple)):
        raise SentinelSettingError(
            f"'services' must be a list of the names of the masters the sentinels monitor, not "
            f"{services!r}: write [{services!r}]."
            if isinstance(services, str)
            else f"'services' must be a list of the names of the masters the sentinels monitor, not {services!r}."
        )
    for name in services:
        if not isinstance(name, str) or not name:
            raise SentinelSettingError(
                f"Each of 'services' must be the name of a master the sentinels monitor (a "
                f"non-empty str), not {name!r}."
            )
    return list(services)
