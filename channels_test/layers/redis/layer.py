"""A channel layer on Redis: the distributed engine for production and several machines.

Daphne and worker processes on any number of machines share one Redis server
(or several, sharded). Needs the ``redis`` package (``pip install
channels_test[redis]``); encryption needs ``cryptography``
(``channels_test[encryption]``).

Storage, under ``<prefix>:`` on each server:

``<prefix>:c:<channel>``
    A list per channel; each entry is ``b"<expires at, ms> "`` + the encoded
    message. Sends and receives run as Lua scripts, so checking the capacity
    and pushing (or skipping expired entries and popping) is one step.
``<prefix>:l:<name>!``
    For process-local channels (``name!xyz``): the names of channels that
    were sent a message, in order. Receiving on ``name!`` pops a name here,
    then that channel's oldest message, so one ``BLPOP`` waits for the
    replies of every connection an interface process holds.
``<prefix>:g:<group>`` and ``<prefix>:gc:<group>``
    A group's members (sorted by membership expiry) and their capacities.

Times come from the Redis server (``TIME``), so machines with skewed clocks
agree on what has expired.
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from collections.abc import Iterator
from typing import Any

from ..base import BaseChannelLayer, ChannelFull
from .connections import Server
from .crypto import make_crypter, seal, unseal
from .errors import RedisUnavailable
from .hosts import DEFAULT_HOST, label_of, make_client, parse_hosts
from .plan import Shard, expires_of, make_plan
from .resp import pack
from .ring import Ring
from .scripts import (
    COUNT,
    GROUP_ADD,
    GROUP_DISCARD,
    GROUP_MEMBERS,
    POP,
    RECEIVE,
    SEND,
    SEND_GROUP,
    SEND_MANY,
)

__all__ = ["SHARD_WAIT", "RedisChannelLayer"]

logger = logging.getLogger(__package__)

# With channels on several servers, a blocking receive waits this long on
# each in turn (a wait on the server, not a poll).
SHARD_WAIT = 0.05


class RedisChannelLayer(BaseChannelLayer):
    """A channel layer on one or more Redis servers, shared by every process using them.

    Settings, besides the base ones (all keyword-only; ``asgi_redis`` names
    and meanings):

    ``hosts``
        Redis servers: URLs (``"redis://:password@host:6379/0"``,
        ``"rediss://..."``, ``"unix:///path?db=0"``) or ``(host, port)``
        pairs. Default: ``["redis://127.0.0.1:6379"]``. With several, channels
        are spread over them by consistent hashing of their names (a
        process-local ``name!xyz`` by ``name!``, a group and its membership by
        the group name). Every process must list the same hosts in the same
        order.
    ``prefix``
        Namespace of this layer's keys (default ``"channels_test"``); one
        trailing ``:``, as asgi_redis prefixes had, is dropped.
    ``symmetric_encryption_keys``
        A list of secrets. Messages are encrypted with the first (Fernet,
        from ``cryptography``) and decrypted with any of them, so keys can
        be rotated by putting the new one first.
    ``blocking_timeout``
        Seconds ``receive(..., block=True)`` waits on the server before
        returning ``(None, None)`` (default 1).
    ``connect_timeout``, ``socket_timeout``
        Seconds to open a connection (default 5) and to wait for any answer
        (default 10); a server that does not answer raises
        :class:`RedisUnavailable` naming it instead of hanging.
    ``connection_kwargs``
        Further options for each connection (``ssl_ca_certs``,
        ``username``, ...); they win over the two timeouts above.

    Each thread keeps one connection per host; one the server closed (a
    restart) is replaced before the next command. Nothing is retried after a
    command may have reached the server, so a message is never delivered
    twice; a blocking receive does retry a lost connection until its timeout.
    """

    extensions = ["groups", "flush", "introspection"]
    Unavailable = RedisUnavailable
    logger = logger

    def __init__(
        self,
        *,
        hosts: list | tuple | None = None,
        symmetric_encryption_keys: list | tuple | None = None,
        blocking_timeout: float = 1.0,
        connect_timeout: float | None = 5.0,
        socket_timeout: float | None = 10.0,
        connection_kwargs: dict | None = None,
        **config: Any,
    ):
        if config.get("clock") is not None:
            raise TypeError(
                f"{type(self).__name__} takes no 'clock': the Redis server's own clock decides "
                "what has expired, so that machines with skewed clocks agree."
            )
        prefix = config.get("prefix")
        if isinstance(prefix, str) and prefix.endswith(":"):
            config["prefix"] = prefix[:-1]
        super().__init__(**config)
        if not isinstance(blocking_timeout, (int, float)) or blocking_timeout < 0:
            raise ValueError(f"blocking_timeout must be a number of seconds >= 0, not {blocking_timeout!r}.")
        self.blocking_timeout = blocking_timeout
        self.hosts = self._check_hosts(hosts)
        self._crypter = make_crypter(symmetric_encryption_keys)
        options = {
            "socket_connect_timeout": connect_timeout,
            "socket_timeout": socket_timeout,
            **(connection_kwargs or {}),
        }
        self._servers = self._make_servers(options)
        read_timeout = options.get("socket_timeout")
        # A BLPOP must answer before the socket times out.
        self._longest_wait = None if read_timeout is None else max(0.1, read_timeout * 0.8)
        self._ring = Ring(len(self._servers))
        self._turn = 0
        self._plan_cache: tuple | None = None
        self._expiry_ms = int(self.expiry * 1000)
        self._ttl = math.ceil(self.expiry) + 1
        self._group_ttl = math.ceil(self.group_expiry) + 1
        self._channel_prefix = f"{self.prefix}:c:"
        self._index_prefix = f"{self.prefix}:l:"

    def __repr__(self) -> str:
        labels = [server.label for server in self._servers]
        return f"<{type(self).__name__} prefix={self.prefix!r} hosts={labels!r}>"

    def _check_hosts(self, hosts: Any) -> list:
        """Return the ``hosts`` setting checked and in one form."""
        return parse_hosts(DEFAULT_HOST if hosts is None else hosts)

    def _make_servers(self, options: dict) -> list:
        """Return a :class:`Server` per entry of ``hosts``, connecting with ``options``."""
        several = len(self.hosts) > 1
        servers = []
        for host in self.hosts:
            client = make_client(host, options)
            label = label_of(client.connection_pool.connection_kwargs)
            servers.append(Server(client, label, log_changes=several))
        return servers

    # -- where things live ------------------------------------------------------------

    def host_of(self, channel: str) -> int:
        """Return the index in ``hosts`` of the server holding ``channel``."""
        if len(self._servers) == 1:
            return 0
        return self._ring.find(self.non_local_name(channel))

    def group_host(self, group: str) -> int:
        """Return the index in ``hosts`` of the server holding ``group``."""
        return 0 if len(self._servers) == 1 else self._ring.find("group:" + group)

    def _call(self, index: int, script: Any, keys: list, args: list) -> Any:
        """Run ``script`` on host ``index`` (RedisUnavailable or a subclass if that fails)."""
        packed = pack(["EVALSHA", script.sha, len(keys), *keys, *args])
        return self._servers[index].run(packed, script)

    # -- sending ----------------------------------------------------------------------

    def _send(self, channel: str, data: bytes) -> None:
        data = seal(self._crypter, data)
        keys = [self._channel_prefix + channel]
        local = self.non_local_name(channel)
        if local is not channel:
            keys.append(self._index_prefix + local)
        capacity = self.get_capacity(local)
        args = [data, capacity, self._expiry_ms, self._ttl, channel]
        if not self._call(self.host_of(channel), SEND, keys, args):
            raise ChannelFull(
                f"Channel {local!r} holds {capacity} messages, its capacity; retry later, "
                "or raise 'capacity'/'channel_capacity' in the layer CONFIG."
            )

    def _send_group(self, group: str, data: bytes) -> None:
        data = seal(self._crypter, data)
        head = [data, self._expiry_ms, self._ttl, self._channel_prefix, self._index_prefix]
        group_index = self.group_host(group)
        keys = self._group_keys(group)
        if len(self._servers) == 1:
            self._call(0, SEND_GROUP, keys, head)
            return
        members = self._call(group_index, GROUP_MEMBERS, keys, [])
        by_host: dict[int, list] = {}
        for position in range(0, len(members), 2):
            name = members[position].decode()
            by_host.setdefault(self.host_of(name), []).extend((name, members[position + 1]))
        failed = None
        for index, pairs in by_host.items():
            try:
                self._call(index, SEND_MANY, [], head + pairs)
            except RedisUnavailable as error:
                # Members on a server that is down miss the message, as a full
                # channel would; the others still get it (and nothing is retried).
                if not error.server_down and failed is None:
                    failed = error
        if failed is not None:
            raise failed

    # -- receiving --------------------------------------------------------------------

    def _receive(self, channels: tuple, block: bool) -> tuple:
        plan = self._plan(channels)
        self._turn += 1
        if not block:
            return self._take_any(plan)
        deadline = time.monotonic() + self.blocking_timeout
        look_first = True
        while True:
            if look_first:
                look_first = False
                try:
                    found = self._take_any(plan)
                except RedisUnavailable as error:
                    if not error.server_down:
                        raise
                    # Every server of these channels is down: ride out a short
                    # outage (a restart) within the blocking time.
                    wake = min(self._servers[shard.index].retry_at for shard in plan)
                    if wake >= deadline:
                        raise
                    time.sleep(max(0.0, wake - time.monotonic()))
                    look_first = True
                    continue
                if found[0] is not None:
                    return found
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None, None
            live = [shard for shard in plan if self._servers[shard.index].down is None]
            if not live:
                look_first = True
                continue
            shard = live[self._turn % len(live)]
            self._turn += 1
            wait_cap = SHARD_WAIT if len(plan) > 1 else self._longest_wait
            wait = remaining if wait_cap is None else min(remaining, wait_cap)
            try:
                found = self._block_on(shard, wait)
            except RedisUnavailable as error:
                if not error.server_down:
                    raise
                look_first = True  # that server is now down: go on with the others
                continue
            if found[0] is not None:
                return found
            if len(live) < len(plan):
                now = time.monotonic()
                look_first = any(
                    self._servers[s.index].retry_at <= now for s in plan if self._servers[s.index].down is not None
                )

    def _take_any(self, plan: list) -> tuple:
        """Take a waiting message from any shard of ``plan`` without waiting.

        A server that is down is left out while the others answer; only when
        none of them answers does this raise (the first server's error).
        """
        count = len(plan)
        script = RECEIVE
        first_error = None
        answered = False
        for step in range(count):
            shard = plan[(self._turn + step) % count]
            packed = shard.receive_command(script.sha, self._turn)
            try:
                result = self._servers[shard.index].run(packed, script)
                while result is not None:
                    position, name, entry = result
                    channel = name.decode() if name else shard.names[position - 1]
                    found = self._open(channel, entry)
                    if found[0] is not None:
                        return found
                    # That message could not be opened (and was logged): take the next.
                    result = self._servers[shard.index].run(packed, script)
            except RedisUnavailable as error:
                if count == 1 or not error.server_down:
                    raise
                if first_error is None:
                    first_error = error
                continue
            answered = True
        if first_error is not None and not answered:
            raise first_error
        return None, None

    def _block_on(self, shard: Shard, wait: float) -> tuple:
        """Wait up to ``wait`` seconds on one server for a message on ``shard``'s keys."""
        packed = shard.blpop_command(max(wait, 0.01))
        popped = self._servers[shard.index].run(packed, None)
        if popped is None:
            return None, None
        key, value = popped
        if shard.is_index(key):
            channel = value.decode()
            entry = self._call(shard.index, POP, [self._channel_prefix + channel], [])
            return (None, None) if entry is None else self._open(channel, entry)
        if expires_of(value) <= self._servers[shard.index].now_ms():
            return None, None
        return self._open(shard.channel_of(key), value)

    def _open(self, channel: str, entry: bytes) -> tuple:
        data = unseal(self._crypter, channel, entry.partition(b" ")[2])
        if data is None:
            return None, None
        message = self.decode(channel, data)
        return (None, None) if message is None else (channel, message)

    def _plan(self, channels: tuple) -> list:
        cached = self._plan_cache
        if cached is not None and cached[0] is channels:
            return cached[1]
        plan = make_plan(channels, self.host_of, self._channel_prefix, self._index_prefix)
        self._plan_cache = (channels, plan)
        return plan

    # -- groups -----------------------------------------------------------------------

    def _group_keys(self, group: str) -> list:
        return [f"{self.prefix}:g:{group}", f"{self.prefix}:gc:{group}"]

    def group_add(self, group: str, channel: str) -> None:
        self._check_membership_args(group, channel)
        args = [channel, self.get_capacity(channel), int(self.group_expiry * 1000), self._group_ttl]
        self._call(self.group_host(group), GROUP_ADD, self._group_keys(group), args)

    def group_discard(self, group: str, channel: str) -> None:
        self._check_membership_args(group, channel)
        self._call(self.group_host(group), GROUP_DISCARD, self._group_keys(group), [channel])

    def group_channels(self, group: str) -> list[str]:
        self.validate_group_name(group)
        members = self._call(self.group_host(group), GROUP_MEMBERS, self._group_keys(group), [])
        return [name.decode() for name in members[::2]]

    # -- housekeeping -----------------------------------------------------------------

    def flush(self) -> None:
        """Delete every key under this layer's prefix, on every host (and nothing else)."""
        for index, server in enumerate(self._servers):
            with self._housekeeping(index):
                batch = []
                for key in server.client.scan_iter(match=f"{self.prefix}:*", count=1000):
                    batch.append(key)
                    if len(batch) >= 500:
                        server.client.unlink(*batch)
                        batch = []
                if batch:
                    server.client.unlink(*batch)

    def message_counts(self) -> dict[str, int]:
        """Return ``{channel: number of unexpired messages}`` for non-empty channels."""
        counts = {}
        start = len(self._channel_prefix)
        for index, server in enumerate(self._servers):
            with self._housekeeping(index):
                keys = list(server.client.scan_iter(match=f"{self._channel_prefix}*", count=1000))
            if not keys:
                continue
            found = self._call(index, COUNT, keys, [])
            for key, count in zip(keys, found):
                if count:
                    counts[key[start:].decode()] = count
        return counts

    @contextlib.contextmanager
    def _housekeeping(self, index: int) -> Iterator[None]:
        """Turn any error talking to host ``index`` into the layer's error naming it."""
        import redis

        try:
            yield
        except (redis.RedisError, OSError) as error:
            raise self._servers[index].describe(error, may_have_run=True) from error

    def close(self) -> None:
        """Close this thread's connections and the pooled ones (new ones open on demand)."""
        for server in self._servers:
            server.close()
