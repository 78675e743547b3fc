-- take.lua: takes message tokens from a user's bucket; the arithmetic of token-bucket.ts.
-- One token per frame without a lease; with one, an instance leases a share of the bucket and
-- spends it locally (lease.ts).
--
-- KEYS[1]  the user's bucket: a hash {tokens = fractional tokens left, at = ms of the last update}
-- ARGV[1]  refill rate, tokens per second (messagesPerSecond)
-- ARGV[2]  bucket size (burst)
-- ARGV[3]  tokens wanted (1 without a lease; up to leaseSize with one)
--
-- Returns {tokens taken (0 .. wanted; 0 when the bucket is empty), whole tokens left, ms until one
-- token is available (0 if one is)}. With one token wanted, the first element is 1 (allowed) or 0.
-- Clock: Redis TIME, one clock for every instance sharing the bucket.

local key = KEYS[1]
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local wanted = tonumber(ARGV[3])

-- Server time in ms (TIME answers {seconds, microseconds}).
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)

-- Tokens now: a missing bucket (new user, or expired once full) starts full; otherwise refill
-- for the time elapsed since the last update, capped at the bucket size.
local state = redis.call('HMGET', key, 'tokens', 'at')
local tokens = tonumber(state[1])
local at = tonumber(state[2])
if tokens == nil or at == nil then
  tokens = burst
else
  tokens = math.min(burst, tokens + math.max(0, now - at) * rate / 1000)
end

-- Whole tokens only, as many as wanted and held; with less than one, nothing is taken (the frame
-- that asked is refused unless its instance still holds a leased token).
local taken = math.min(wanted, math.floor(tokens))
tokens = tokens - taken

-- Time until a whole token is back.
local resetMs = 0
if tokens < 1 then
  resetMs = math.ceil((1 - tokens) * 1000 / rate)
end

-- Store the fractional count as a string (a Lua number reply would be truncated), and let the
-- bucket expire once it would be full again: a full bucket and no bucket mean the same thing.
redis.call('HSET', key, 'tokens', tostring(tokens), 'at', now)
redis.call('PEXPIRE', key, math.ceil((burst - tokens) * 1000 / rate) + 1000)
return {taken, math.floor(tokens), resetMs}
