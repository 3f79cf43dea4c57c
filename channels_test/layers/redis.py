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

import base64
import binascii
import bisect
import contextlib
import hashlib
import logging
import math
import os
import select
import threading
import time
from typing import Any, Iterator

from django.core.exceptions import ImproperlyConfigured

from .base import BaseChannelLayer, ChannelFull
from .redis_errors import (
    RedisAuthenticationError,
    RedisCommandError,
    RedisOutOfMemoryError,
    RedisProtocolError,
    RedisReadOnlyError,
    RedisUnavailable,
    describe_error,
)

__all__ = [
    "RedisChannelLayer",
    "RedisUnavailable",
    "RedisAuthenticationError",
    "RedisProtocolError",
    "RedisReadOnlyError",
    "RedisOutOfMemoryError",
    "RedisCommandError",
]

logger = logging.getLogger(__name__)

DEFAULT_HOST = "redis://127.0.0.1:6379"
# Points per host on the hash ring: enough to spread channels evenly.
_RING_POINTS = 160
# With channels on several servers, a blocking receive waits this long on
# each in turn (a wait on the server, not a poll).
SHARD_WAIT = 0.05
# Once a server failed, calls that need it fail at once (with the same
# error) for this long before one of them tries it again.
DOWN_RETRY_INTERVAL = 0.5

_LUA_HELPERS = """
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- A damaged entry counts as fresh: the receiver gets it, logs it and skips it.
local function expires_of(entry)
  local space = string.find(entry, ' ', 1, true)
  return space and tonumber(string.sub(entry, 1, space - 1)) or math.huge
end

-- Push entry onto a channel's list unless it holds capacity unexpired
-- messages; record the channel on its local index (if any). 1 if pushed.
-- A process-local channel also counts against its prefix: the index holds
-- one name per waiting message of the prefix.
local function push(list, index, name, capacity, entry, ttl, now)
  if index and redis.call('LLEN', index) >= capacity then return 0 end
  local length = redis.call('LLEN', list)
  if length >= capacity then
    while length > 0 do
      if expires_of(redis.call('LINDEX', list, 0)) > now then break end
      redis.call('LPOP', list)
      length = length - 1
    end
    if length >= capacity then return 0 end
  end
  redis.call('RPUSH', list, entry)
  redis.call('EXPIRE', list, ttl)
  if index then
    redis.call('RPUSH', index, name)
    redis.call('EXPIRE', index, ttl)
  end
  return 1
end

-- Pop the oldest unexpired entry of a list, dropping expired ones.
local function pop_fresh(list, now)
  while true do
    local entry = redis.call('LPOP', list)
    if not entry then return nil end
    if expires_of(entry) > now then return entry end
  end
end

local function expire_members(members, capacities, now)
  local old = redis.call('ZRANGEBYSCORE', members, '-inf', now)
  if #old > 0 then
    for _, name in ipairs(old) do redis.call('HDEL', capacities, name) end
    redis.call('ZREMRANGEBYSCORE', members, '-inf', now)
  end
end

-- Push one entry to each named channel below its capacity; return how many got it.
-- args: data, expiry ms, ttl, channel key prefix, local index prefix.
local function deliver(names, capacities, data, expiry, ttl, channel_prefix, index_prefix, now)
  local entry = string.format('%d ', now + tonumber(expiry)) .. data
  local sent = 0
  for i, name in ipairs(names) do
    local bang = string.find(name, '!', 1, true)
    local index = false
    if bang then index = index_prefix .. string.sub(name, 1, bang) end
    local capacity = tonumber(capacities[i])
    sent = sent + push(channel_prefix .. name, index, name, capacity, entry, ttl, now)
  end
  return sent
end
"""

# KEYS: channel list [, local index]; ARGV: data, capacity, expiry ms, ttl s, channel name.
_SEND = _LUA_HELPERS + """
local now = now_ms()
local entry = string.format('%d ', now + tonumber(ARGV[3])) .. ARGV[1]
return push(KEYS[1], KEYS[2] or false, ARGV[5], tonumber(ARGV[2]), entry, ARGV[4], now)
"""

# KEYS: lists to take from; ARGV: the key to start at (0-based, then in turn),
# channel key prefix, then per key 'c' (a channel list) or 'l' (a local
# index). Returns {key number, channel name or '', entry} or nil.
_RECEIVE = _LUA_HELPERS + """
local now = now_ms()
local count, start = #KEYS, tonumber(ARGV[1])
for step = 0, count - 1 do
  local i = (start + step) % count + 1
  if ARGV[i + 2] == 'l' then
    while true do
      local name = redis.call('LPOP', KEYS[i])
      if not name then break end
      local entry = pop_fresh(ARGV[2] .. name, now)
      if entry then return {i, name, entry} end
    end
  else
    local entry = pop_fresh(KEYS[i], now)
    if entry then return {i, '', entry} end
  end
end
return nil
"""

# KEYS: one channel list. Returns its oldest unexpired entry or nil.
_POP = _LUA_HELPERS + """
return pop_fresh(KEYS[1], now_ms())
"""

# KEYS: members, capacities; ARGV: data, expiry ms, ttl, channel prefix, index prefix.
_SEND_GROUP = _LUA_HELPERS + """
local now = now_ms()
expire_members(KEYS[1], KEYS[2], now)
local names = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. now, '+inf')
local capacities = {}
for i, name in ipairs(names) do capacities[i] = redis.call('HGET', KEYS[2], name) or 1 end
return deliver(names, capacities, ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], now)
"""

# ARGV: data, expiry ms, ttl, channel prefix, index prefix, then name, capacity pairs.
_SEND_MANY = _LUA_HELPERS + """
local now = now_ms()
local names, capacities = {}, {}
for i = 6, #ARGV, 2 do
  names[#names + 1] = ARGV[i]
  capacities[#capacities + 1] = ARGV[i + 1]
end
return deliver(names, capacities, ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], now)
"""

# KEYS: members, capacities. Returns {name, capacity, name, capacity, ...}.
_GROUP_MEMBERS = _LUA_HELPERS + """
local now = now_ms()
expire_members(KEYS[1], KEYS[2], now)
local result = {}
for _, name in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. now, '+inf')) do
  result[#result + 1] = name
  result[#result + 1] = redis.call('HGET', KEYS[2], name) or '1'
end
return result
"""

# KEYS: members, capacities; ARGV: channel, capacity, group expiry ms, ttl.
_GROUP_ADD = _LUA_HELPERS + """
local now = now_ms()
expire_members(KEYS[1], KEYS[2], now)
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[4])
redis.call('EXPIRE', KEYS[2], ARGV[4])
"""

# KEYS: members, capacities; ARGV: channel.
_GROUP_DISCARD = """
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
"""

# KEYS: channel lists. Returns the number of unexpired entries in each.
_COUNT = _LUA_HELPERS + """
local now = now_ms()
local counts = {}
for i, list in ipairs(KEYS) do
  local count = 0
  for _, entry in ipairs(redis.call('LRANGE', list, 0, -1)) do
    if expires_of(entry) > now then count = count + 1 end
  end
  counts[i] = count
end
return counts
"""


class _Script:
    """A Lua script, run by its SHA1 (see :meth:`_Server.run`)."""

    def __init__(self, source: str):
        self.source = source
        self.sha = hashlib.sha1(source.encode()).hexdigest()


SEND = _Script(_SEND)
RECEIVE = _Script(_RECEIVE)
POP = _Script(_POP)
SEND_GROUP = _Script(_SEND_GROUP)
SEND_MANY = _Script(_SEND_MANY)
GROUP_MEMBERS = _Script(_GROUP_MEMBERS)
GROUP_ADD = _Script(_GROUP_ADD)
GROUP_DISCARD = _Script(_GROUP_DISCARD)
COUNT = _Script(_COUNT)


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
        prefix = config.get("prefix")
        if isinstance(prefix, str) and prefix.endswith(":"):
            config["prefix"] = prefix[:-1]
        super().__init__(**config)
        if not isinstance(blocking_timeout, (int, float)) or blocking_timeout < 0:
            raise ValueError(
                f"blocking_timeout must be a number of seconds >= 0, not {blocking_timeout!r}."
            )
        self.blocking_timeout = blocking_timeout
        self.hosts = self._check_hosts(hosts)
        self._crypter = _make_crypter(symmetric_encryption_keys)
        options = {
            "socket_connect_timeout": connect_timeout,
            "socket_timeout": socket_timeout,
            **(connection_kwargs or {}),
        }
        self._servers = self._make_servers(options)
        read_timeout = options.get("socket_timeout")
        # A BLPOP must answer before the socket times out.
        self._longest_wait = None if read_timeout is None else max(0.1, read_timeout * 0.8)
        self._ring = _Ring(len(self._servers))
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
        return _parse_hosts(DEFAULT_HOST if hosts is None else hosts)

    def _make_servers(self, options: dict) -> list:
        """Return a :class:`_Server` per entry of ``hosts``, connecting with ``options``."""
        several = len(self.hosts) > 1
        servers = []
        for host in self.hosts:
            client = _make_client(host, options)
            label = _label(client.connection_pool.connection_kwargs)
            servers.append(_Server(client, label, log_changes=several))
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
        packed = _pack(["EVALSHA", script.sha, len(keys), *keys, *args])
        return self._servers[index].run(packed, script)

    def _execute(self, index: int, *command: Any) -> Any:
        """Run ``command`` on host ``index`` (RedisUnavailable or a subclass if that fails)."""
        return self._servers[index].run(_pack(command), None)

    # -- sending ----------------------------------------------------------------------

    def _send(self, channel: str, message: dict) -> None:
        data = self._seal(self.encode(message))
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

    def _send_group(self, group: str, message: dict) -> None:
        data = self._seal(self.encode(message))
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
                look_first = any(self._servers[s.index].retry_at <= now for s in plan
                                 if self._servers[s.index].down is not None)

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

    def _block_on(self, shard: "_Shard", wait: float) -> tuple:
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
        if self._expires_of(value) <= self._server_now(shard.index):
            return None, None
        return self._open(shard.channel_of(key), value)

    def _open(self, channel: str, entry: bytes) -> tuple:
        data = entry.partition(b" ")[2]
        if self._crypter is not None:
            from cryptography.fernet import InvalidToken

            try:
                data = self._crypter.decrypt(data)
            except InvalidToken:
                logger.error(
                    "Dropped a message on %r that none of symmetric_encryption_keys decrypts: "
                    "give every process of this layer the same keys.", channel,
                )
                return None, None
        message = self.decode(channel, data)
        return (None, None) if message is None else (channel, message)

    @staticmethod
    def _expires_of(entry: bytes) -> float:
        try:
            return int(entry.partition(b" ")[0])
        except ValueError:
            return math.inf  # damaged: fresh, so _open logs it

    def _server_now(self, index: int) -> float:
        """Return the server's clock in ms, estimated from ours and an offset measured once."""
        server = self._servers[index]
        offset = server.clock_offset
        if offset is None:
            before = time.time()
            seconds, microseconds = map(int, self._execute(index, "TIME"))
            after = time.time()
            offset = seconds + microseconds / 1e6 - (before + after) / 2
            server.clock_offset = offset
        return (time.time() + offset) * 1000

    def _plan(self, channels: tuple) -> list:
        cached = self._plan_cache
        if cached is not None and cached[0] is channels:
            return cached[1]
        shards: dict[int, _Shard] = {}
        for name in channels:
            index = self.host_of(name)
            shard = shards.get(index)
            if shard is None:
                shard = shards[index] = _Shard(index, self._channel_prefix)
            if name[-1] == "!":
                shard.add(self._index_prefix + name, "l", name)
            else:
                shard.add(self._channel_prefix + name, "c", name)
        plan = list(shards.values())
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
        self._call(self.group_host(group), GROUP_DISCARD,
                   self._group_keys(group), [channel])

    def group_channels(self, group: str) -> list[str]:
        self.validate_group_name(group)
        members = self._call(self.group_host(group), GROUP_MEMBERS,
                             self._group_keys(group), [])
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

    # -- encryption -------------------------------------------------------------------

    def _seal(self, data: bytes) -> bytes:
        return data if self._crypter is None else self._crypter.encrypt(data)


class _Server:
    """One Redis server: its client, one open connection per thread, and whether it is down.

    Each thread keeps its connection for every later call (a pool of one per
    thread, reopened after a fork), which spares the per-command bookkeeping
    of a shared pool. Before each command the connection is checked for a
    close by the server (a restart); such a connection is replaced before
    anything is sent on it. ``client``, on an ordinary shared pool, serves
    the rare housekeeping commands (``SCAN``, ``UNLINK``).

    A failure that takes the server down (see ``RedisUnavailable.server_down``)
    is remembered, for every thread: calls then fail at once with the same
    error, and every ``DOWN_RETRY_INTERVAL`` seconds one call tries the server
    again. With ``log_changes`` (a layer of several servers, which carries on
    without this one) the outage is logged once as it starts and once as it ends.
    """

    hosts_hint = "fix 'hosts' in the layer CONFIG"

    def __init__(self, client: Any, label: str, *, log_changes: bool = False):
        self.client = client
        pool = self.client.connection_pool
        self._connection_class = pool.connection_class
        self._connection_kwargs = pool.connection_kwargs
        self._label = label
        self.log_changes = log_changes
        self._local = threading.local()
        self._lock = threading.Lock()
        #: The error that took the server down, or None while it answers.
        self.down: RedisUnavailable | None = None
        self.down_since = 0.0
        #: When (time.monotonic()) a call may try the server again.
        self.retry_at = 0.0
        #: The server's clock minus ours, in seconds (measured when first needed).
        self.clock_offset: float | None = None

    @property
    def label(self) -> str:
        """The server as errors and logs name it (never with its password)."""
        return self._label

    def _connection(self) -> Any:
        """Return this thread's connection, connected and with nothing unread on it."""
        state = getattr(self._local, "state", None)
        if state is None or state[0] != os.getpid():
            connection = self._connection_class(**self._connection_kwargs)
            state = self._local.state = [os.getpid(), connection, None]
        connection, poller = state[1], state[2]
        if poller is not None and poller.poll(0):
            # Readable while idle: the server closed it (or sent junk). Start afresh.
            connection.disconnect()
            poller = None
        if poller is None:
            connection.connect()
            poller = state[2] = select.poll()
            poller.register(connection._sock, select.POLLIN)
        return connection

    def run(self, packed: bytes, script: _Script | None) -> Any:
        """Send one packed command and return its reply.

        ``script`` is the script an ``EVALSHA`` runs, loaded if the server
        lacks it. Any failure raises :class:`RedisUnavailable` (or a subclass)
        naming the server.
        """
        from redis.exceptions import NoScriptError, RedisError

        if self.down is not None:
            self._before_retry()
        sent = False
        try:
            connection = self._connection()
            connection.send_packed_command([packed], check_health=False)
            sent = True
            try:
                reply = connection.read_response()
            except NoScriptError:
                if script is None:
                    raise
                # A new or restarted server: the script did not run. Load it, run it once.
                sent = False
                connection.send_packed_command([_pack(["SCRIPT", "LOAD", script.source])])
                connection.read_response()
                connection.send_packed_command([packed], check_health=False)
                sent = True
                reply = connection.read_response()
        except (RedisError, OSError) as error:
            problem = self.describe(error, may_have_run=sent)
            if problem.server_down:
                self._forget()
                self._went_down(problem)
            elif self.down is not None:
                self._came_back()  # it answered, if with an error
            raise problem from error
        if self.down is not None:
            self._came_back()
        return reply

    def describe(self, error: BaseException, *, may_have_run: bool) -> RedisUnavailable:
        """Return the layer's error for ``error`` from this server."""
        return describe_error(self.label, error, may_have_run=may_have_run,
                              hosts_hint=self.hosts_hint)

    def _before_retry(self) -> None:
        """While down: fail at once, unless it is time for this call to try the server."""
        with self._lock:
            down = self.down
            if down is None:
                return
            now = time.monotonic()
            if now < self.retry_at:
                raise type(down)(str(down))
            self.retry_at = now + DOWN_RETRY_INTERVAL

    def _went_down(self, problem: RedisUnavailable) -> None:
        with self._lock:
            first = self.down is None
            self.down = problem
            self.clock_offset = None  # it may come back elsewhere (a failover)
            self.retry_at = time.monotonic() + DOWN_RETRY_INTERVAL
            if first:
                self.down_since = time.monotonic()
        if first and self.log_changes:
            logger.error("%s Calls for its channels fail until it is back; the layer's other "
                         "servers carry on.", problem)

    def _came_back(self) -> None:
        with self._lock:
            if self.down is None:
                return
            self.down = None
            seconds = time.monotonic() - self.down_since
        if self.log_changes:
            logger.warning("The Redis server %s of the channel layer answers again after %.1f s.",
                           self.label, seconds)

    def _forget(self) -> None:
        state = getattr(self._local, "state", None)
        if state is not None:
            state[1].disconnect()
            state[2] = None

    def close(self) -> None:
        self._forget()
        self.client.connection_pool.disconnect()


class _Shard:
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
        if self._receive_tail is None:
            self._keys_blob = _bulk(self.keys)
            self._receive_tail = _bulk([self.channel_prefix, *self.kinds])
        count = len(self.keys)
        return b"".join((
            b"*%d\r\n" % (5 + 2 * count),
            _bulk(["EVALSHA", sha, count]), self._keys_blob,
            _bulk([turn % count]), self._receive_tail,
        ))

    def blpop_command(self, wait: float) -> bytes:
        """Return the packed ``BLPOP`` of every key, waiting up to ``wait`` seconds."""
        if self._keys_blob is None:
            self._keys_blob = _bulk(self.keys)
        return b"".join((b"*%d\r\n" % (2 + len(self.keys)), _bulk(["BLPOP"]), self._keys_blob,
                         _bulk([f"{wait:.3f}"])))

    def channel_of(self, key: bytes | str) -> str:
        return self.channels[key if isinstance(key, bytes) else key.encode()]

    def is_index(self, key: bytes) -> bool:
        return key in self.index_keys


class _Ring:
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
            for point in range(_RING_POINTS)
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


def _bulk(parts: list) -> bytes:
    """Encode ``parts`` (bytes, str, int) as RESP bulk strings, back to back."""
    out = []
    for part in parts:
        if isinstance(part, str):
            part = part.encode()
        elif isinstance(part, int):
            part = b"%d" % part
        out.append(b"$%d\r\n%s\r\n" % (len(part), part))
    return b"".join(out)


def _pack(parts: list | tuple) -> bytes:
    """Encode one Redis command (a list of bytes, str and int arguments)."""
    return b"*%d\r\n" % len(parts) + _bulk(parts)


def _parse_hosts(hosts: Any) -> list:
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
    parsed = []
    for host in hosts:
        if isinstance(host, str) and "://" in host:
            parsed.append(host)
        elif (isinstance(host, (list, tuple)) and len(host) == 2 and isinstance(host[0], str)
              and isinstance(host[1], int)):
            parsed.append((host[0], host[1]))
        else:
            raise ImproperlyConfigured(
                f"Cannot use {host!r} in 'hosts': give a URL like 'redis://127.0.0.1:6379/0' "
                "or a (host, port) pair like ('127.0.0.1', 6379)."
            )
    return parsed


def _make_client(host: Any, options: dict) -> Any:
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


def _label(kwargs: dict) -> str:
    """Describe a server for error messages from its connection options (never its password)."""
    if "path" in kwargs:
        return f"unix:{kwargs['path']}"
    return f"{kwargs.get('host', 'localhost')}:{kwargs.get('port', 6379)}"


def _make_crypter(keys: Any) -> Any:
    if not keys:
        return None
    if isinstance(keys, (str, bytes)) or not isinstance(keys, (list, tuple)):
        raise ImproperlyConfigured(
            "symmetric_encryption_keys must be a list of secrets (the first encrypts, any "
            f"decrypts), not {type(keys).__name__}: write [key]."
        )
    try:
        from cryptography.fernet import Fernet, MultiFernet
    except ImportError as error:
        raise ImproperlyConfigured(
            "symmetric_encryption_keys needs the 'cryptography' package: "
            "pip install channels_test[encryption]"
        ) from error
    fernets = []
    for key in keys:
        secret = key.encode() if isinstance(key, str) else key
        fernets.append(Fernet(base64.urlsafe_b64encode(hashlib.sha256(secret).digest())))
    return MultiFernet(fernets)
