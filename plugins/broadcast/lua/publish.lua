--[[
  matchcast: sequence, record and fan out one batch of a match's events, atomically.

  Every key of a match lives under `<prefix>:match:{<matchId>}` (passed in, never built here): the
  match id is the hash tag, so on a Redis Cluster the stream, its history and its channel share one
  slot, and this script runs on the one primary that owns it.
    KEYS[1]  the match's stream HASH: `epoch` (names the sequence), `seq` (last seq), `writer` (the
             replication id of the primary that wrote it, see "Fencing" below)
    KEYS[2]  the match's history LIST: one JSON event per entry, oldest first, capped

  Every per-call value comes in ARGV, so the script is loaded once and runs by SHA:
    ARGV[1]  channel the batch is published on (same hash tag, so same slot)
    ARGV[2]  a fresh epoch, used only when the match has none yet (first use, the keys expired or
             were lost) or when the sequence must move to a new one (ARGV[3], or fencing)
    ARGV[3]  "1" = rotate: start a new epoch (keeping the counter) and drop history, because events
             of this match were lost (never sequenced) while Redis was unreachable
    ARGV[4]  history size (events kept); 0 keeps none
    ARGV[5]  history age in ms: the list expires when no event has been added for that long; 0 keeps none
    ARGV[6]  id of the publishing node, so it can ignore its own message
    ARGV[7]  the publish command: PUBLISH (one server) or SPUBLISH (a cluster's sharded channel,
             delivered only by the shard that owns the slot)
    ARGV[8]  the stream's lifetime in ms from this call (a finished match's is shorter than an idle
             one's); 0 = no expiry. A read (no events) applies it only to a stream it creates.
    ARGV[9…] two strings per event, the JSON around its seq: `{"type":…,"matchId":…,"seq":` and
             `,"ts":…,"data":…}`. Concatenating head .. seq .. tail keeps the caller's exact field
             order and escaping; Lua never decodes or re-encodes JSON.

  Fencing: replication is asynchronous, so a replica promoted after its primary died may lack the
  last batches, and would hand their seqs out again. Every primary has its own replication id
  (`master_replid`, new on each promotion and restart); the stream records the id of the primary
  that wrote it. When the primary running this script is another one (failover, a slot moved to
  another node, a restart), the sequence moves to a new epoch first: clients and other instances
  resync rather than take a reused seq for one they already have.

  With no events and no rotation it only reads the position (creating the epoch if missing, so
  every reader agrees on it) and publishes nothing.

  Returns a fixed tuple: { epoch, last seq, published message or "" }.
]]

local stream = KEYS[1]
local history = KEYS[2]
local channel = ARGV[1]
local candidate = ARGV[2]
local rotate = ARGV[3] == '1'
local size = tonumber(ARGV[4])
local ttl = tonumber(ARGV[5])
local node = ARGV[6]
local publish = ARGV[7]
local lifetime = tonumber(ARGV[8])
-- Events are ARGV pairs after the eight fixed arguments.
local count = (#ARGV - 8) / 2

-- This primary's replication id (INFO is allowed in scripts; effects are replicated, not the call).
local writer = string.match(redis.call('INFO', 'replication'), 'master_replid:(%w+)')

-- The epoch: created when missing (a new match, or the keys expired or were lost, which restarts
-- the counter too, so clients can tell), replaced on rotation and when another primary wrote it.
if not rotate then
  if redis.call('HSETNX', stream, 'epoch', candidate) == 1 then
    redis.call('HSET', stream, 'writer', writer)
    -- History of a sequence that is gone can never be replayed against the new one.
    redis.call('DEL', history)
    if lifetime > 0 then
      redis.call('PEXPIRE', stream, lifetime)
    end
  elseif redis.call('HGET', stream, 'writer') ~= writer then
    rotate = true
  end
end
local epoch
if rotate then
  epoch = candidate
  redis.call('HSET', stream, 'epoch', epoch, 'writer', writer)
  -- History of the old epoch can never be replayed against the new one.
  redis.call('DEL', history)
else
  epoch = redis.call('HGET', stream, 'epoch')
end

-- Position read only: nothing to sequence, nothing to announce.
if count == 0 and not rotate then
  return { epoch, tonumber(redis.call('HGET', stream, 'seq') or '0'), '' }
end

-- Reserve `count` consecutive seqs: first = last - count + 1.
local last = redis.call('HINCRBY', stream, 'seq', count)
local first = last - count + 1
-- A finished match's keys go sooner than an idle one's; every batch sets the stream's lifetime.
if lifetime > 0 then
  redis.call('PEXPIRE', stream, lifetime)
end

-- Build each event's JSON with its seq, and append it to history.
local events = {}
for i = 1, count do
  local head = ARGV[7 + 2 * i]
  local tail = ARGV[8 + 2 * i]
  events[i] = head .. (first + i - 1) .. tail
end
if count > 0 then
  if size > 0 and ttl > 0 then
    -- One RPUSH per event: `unpack` of a large batch would overflow Lua's stack.
    for i = 1, count do
      redis.call('RPUSH', history, events[i])
    end
    -- Keep only the newest `size` events.
    redis.call('LTRIM', history, -size, -1)
    -- An idle match's history ages out as a whole; the reader also skips entries older than ttl.
    redis.call('PEXPIRE', history, ttl)
  else
    redis.call('DEL', history)
  end
end

-- One message per batch; `node` comes first so a node can drop its own message by prefix.
-- `seq` is the stream head after this batch (for a rotation with no events, the unchanged head).
local message = '{"v":1,"node":"' .. node .. '","epoch":"' .. epoch .. '","seq":' .. last ..
  ',"events":[' .. table.concat(events, ',') .. ']}'
redis.call(publish, channel, message)

return { epoch, last, message }
