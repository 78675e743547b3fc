-- refresh.lua: the heartbeat of a live instance; pushes the expiry of its slots of one user forward.
--
-- KEYS[1]    the user's slots (see acquire.lua)
-- ARGV[1]    slot lifetime in ms (connectionTtlMs)
-- ARGV[2..]  connection ids this instance holds for the user
--
-- Re-adds an id that is missing (Redis restarted empty, or the slot expired while Redis was
-- unreachable): the connection is open, so it counts, even past `max`.
-- Returns {ids refreshed, slots held after the call}.

local key = KEYS[1]
local ttl = tonumber(ARGV[1])

-- Server time in ms, the clock of acquire.lua.
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local expiry = now + ttl

-- Drop slots of dead instances while here.
redis.call('ZREMRANGEBYSCORE', key, '-inf', now)

-- One ZADD per id: ARGV holds only this instance's ids of one user, a handful at most.
for i = 2, #ARGV do
  redis.call('ZADD', key, expiry, ARGV[i])
end

-- The set lives as long as its longest slot.
if redis.call('PTTL', key) < ttl then
  redis.call('PEXPIRE', key, ttl)
end
return {#ARGV - 1, redis.call('ZCARD', key)}
