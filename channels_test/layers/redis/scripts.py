"""The Lua scripts the Redis layer runs: each send, receive and group change is one step.

Running on the server, a script checks and changes a channel's list in one
atomic step (checking the capacity and pushing; skipping expired entries and
popping), and takes its time from the server's clock (``TIME``), so machines
with skewed clocks agree on what has expired.
"""

from __future__ import annotations

import hashlib

__all__ = [
    "COUNT",
    "GROUP_ADD",
    "GROUP_DISCARD",
    "GROUP_MEMBERS",
    "POP",
    "RECEIVE",
    "SEND",
    "SEND_GROUP",
    "SEND_MANY",
    "Script",
]

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
_SEND = (
    _LUA_HELPERS
    + """
local now = now_ms()
local entry = string.format('%d ', now + tonumber(ARGV[3])) .. ARGV[1]
return push(KEYS[1], KEYS[2] or false, ARGV[5], tonumber(ARGV[2]), entry, ARGV[4], now)
"""
)

# KEYS: lists to take from; ARGV: the key to start at (0-based, then in turn),
# channel key prefix, then per key 'c' (a channel list) or 'l' (a local
# index). Returns {key number, channel name or '', entry} or nil.
_RECEIVE = (
    _LUA_HELPERS
    + """
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
)

# KEYS: one channel list. Returns its oldest unexpired entry or nil.
_POP = (
    _LUA_HELPERS
    + """
return pop_fresh(KEYS[1], now_ms())
"""
)

# KEYS: members, capacities; ARGV: data, expiry ms, ttl, channel prefix, index prefix.
_SEND_GROUP = (
    _LUA_HELPERS
    + """
local now = now_ms()
expire_members(KEYS[1], KEYS[2], now)
local names = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. now, '+inf')
local capacities = {}
for i, name in ipairs(names) do capacities[i] = redis.call('HGET', KEYS[2], name) or 1 end
return deliver(names, capacities, ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], now)
"""
)

# ARGV: data, expiry ms, ttl, channel prefix, index prefix, then name, capacity pairs.
_SEND_MANY = (
    _LUA_HELPERS
    + """
local now = now_ms()
local names, capacities = {}, {}
for i = 6, #ARGV, 2 do
  names[#names + 1] = ARGV[i]
  capacities[#capacities + 1] = ARGV[i + 1]
end
return deliver(names, capacities, ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], now)
"""
)

# KEYS: members, capacities. Returns {name, capacity, name, capacity, ...}.
_GROUP_MEMBERS = (
    _LUA_HELPERS
    + """
local now = now_ms()
expire_members(KEYS[1], KEYS[2], now)
local result = {}
for _, name in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. now, '+inf')) do
  result[#result + 1] = name
  result[#result + 1] = redis.call('HGET', KEYS[2], name) or '1'
end
return result
"""
)

# KEYS: members, capacities; ARGV: channel, capacity, group expiry ms, ttl.
_GROUP_ADD = (
    _LUA_HELPERS
    + """
local now = now_ms()
expire_members(KEYS[1], KEYS[2], now)
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[4])
redis.call('EXPIRE', KEYS[2], ARGV[4])
"""
)

# KEYS: members, capacities; ARGV: channel.
_GROUP_DISCARD = """
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
"""

# KEYS: channel lists. Returns the number of unexpired entries in each.
_COUNT = (
    _LUA_HELPERS
    + """
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
)


class Script:
    """A Lua script, run by its SHA1 (loaded into a server that lacks it, see :meth:`Server.run`)."""

    def __init__(self, source: str):
        self.source = source
        self.sha = hashlib.sha1(source.encode()).hexdigest()


SEND = Script(_SEND)
RECEIVE = Script(_RECEIVE)
POP = Script(_POP)
SEND_GROUP = Script(_SEND_GROUP)
SEND_MANY = Script(_SEND_MANY)
GROUP_MEMBERS = Script(_GROUP_MEMBERS)
GROUP_ADD = Script(_GROUP_ADD)
GROUP_DISCARD = Script(_GROUP_DISCARD)
COUNT = Script(_COUNT)
