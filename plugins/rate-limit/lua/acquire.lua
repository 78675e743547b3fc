-- acquire.lua: claims one connection slot of a user, unless the user already holds `max`.
--
-- KEYS[1]  the user's slots: a sorted set, member = connection id, score = expiry (ms, Redis clock)
-- ARGV[1]  connection id
-- ARGV[2]  max slots of the user (maxConnectionsPerUser)
-- ARGV[3]  slot lifetime in ms (connectionTtlMs); the owning instance refreshes it (refresh.lua)
--
-- Returns {acquired (1|0), slots held after the call}.
-- Clock: Redis TIME, so every instance measures expiry against one clock (no skew between hosts).

local key = KEYS[1]
local id = ARGV[1]
local max = tonumber(ARGV[2])
local ttl = tonumber(ARGV[3])

-- Server time in ms (TIME answers {seconds, microseconds}).
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local expiry = now + ttl

-- Slots whose owner stopped refreshing them (a crashed instance) are gone from here on.
redis.call('ZREMRANGEBYSCORE', key, '-inf', now)

-- The set lives as long as its longest slot; never shorten what another instance set.
local function extend()
  if redis.call('PTTL', key) < ttl then
    redis.call('PEXPIRE', key, ttl)
  end
end

-- Already held under this id: acquiring again is a refresh, not a second slot.
if redis.call('ZSCORE', key, id) then
  redis.call('ZADD', key, expiry, id)
  extend()
  return {1, redis.call('ZCARD', key)}
end

-- Full: refuse without touching anything.
local held = redis.call('ZCARD', key)
if held >= max then
  return {0, held}
end

-- Free slot: take it.
redis.call('ZADD', key, expiry, id)
extend()
return {1, held + 1}
