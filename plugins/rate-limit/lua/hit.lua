-- hit.lua: counts one hit in a fixed window (per-IP upgrade attempts, HTTP route limits).
--
-- KEYS[1]  the counter of one key (e.g. one IP address) in the current window
-- ARGV[1]  window length in ms
--
-- Returns {hits in the current window including this one, ms until the window ends}.

local key = KEYS[1]
local window = tonumber(ARGV[1])

local count = redis.call('INCR', key)

-- The first hit opens the window.
if count == 1 then
  redis.call('PEXPIRE', key, window)
  return {count, window}
end

-- Later hits report what is left of it; a counter found without expiry (PTTL -1, e.g. written by
-- hand) is given one, so it can never block forever.
local ttl = redis.call('PTTL', key)
if ttl < 0 then
  redis.call('PEXPIRE', key, window)
  ttl = window
end
return {count, ttl}
