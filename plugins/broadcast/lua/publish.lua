--[[
  matchcast: sequence, record and fan out one batch of a match's events, atomically.

  Every key of a match lives under `<prefix>:match:{<matchId>}` (passed in, never built here): the
  match id is the hash tag, so on a Redis Cluster the stream, its history and its channel share one
  slot, and this script runs on the one primary that owns it.
    KEYS[1]  the match's stream HASH: `epoch` (names the sequence), `seq` (last seq), `version` (the
             match version the stream reflects: that of the last outbox event sequenced, or the
             version a relay reconciled it to; absent until then), `writer` (the replication id of
             the primary that wrote it, see "Fencing" below)
    KEYS[2]  the match's history LIST: one JSON event per entry, oldest first, capped

  Every per-call value comes in ARGV, so the script is loaded once and runs by SHA:
    ARGV[1]  channel the batch is published on (same hash tag, so same slot)
    ARGV[2]  a fresh epoch, used only when the match has none yet (first use, the keys expired or
             were lost) or when the sequence must move to a new one (ARGV[3], or fencing)
    ARGV[3]  rotate: start a new epoch (keeping the counter) and drop history. "" = no; "*" = yes,
             because events of this match were lost (never sequenced) while Redis was unreachable;
             a number = yes, but only while the stream's version is still that number (-1: none),
             because the store holds changes the outbox cannot account for
    ARGV[4]  history size (events kept); 0 keeps none
    ARGV[5]  history age in ms: the list expires when no event has been added for that long; 0 keeps none
    ARGV[6]  id of the publishing node, so it can ignore its own message
    ARGV[7]  base: "" for events from outside the outbox; else the match version before the first
             change this batch accounts for (it must not be ahead of the stream's version)
    ARGV[8]  last: the last match version this batch accounts for ("" with an empty base)
    ARGV[9]  the publish command: PUBLISH (one server) or SPUBLISH (a cluster's sharded channel,
             delivered only by the shard that owns the slot)
    ARGV[10] the stream's lifetime in ms from this call (a finished match's is shorter than an idle
             one's); 0 = no expiry. A read (no events) applies it only to a stream it creates.
    ARGV[11…] three strings per event: the JSON around its seq, `{"type":…,"matchId":…,"seq":` and
             `,"ts":…,"data":…}`, then the match version it announces ("" for an event from outside
             the outbox). Concatenating head .. seq .. tail keeps the caller's exact field order and
             escaping; Lua never decodes or re-encodes JSON.

  Fencing: replication is asynchronous, so a replica promoted after its primary died may lack the
  last batches, and would hand their seqs out again. Every primary has its own replication id
  (`master_replid`, new on each promotion and restart); the stream records the id of the primary
  that wrote it. When the primary running this script is another one (failover, a slot moved to
  another node, a restart), the sequence moves to a new epoch first: clients and other instances
  resync rather than take a reused seq for one they already have.

  With no events, no rotation and no versions it only reads the position (creating the epoch if
  missing, so every reader agrees on it) and publishes nothing.

  Returns a fixed tuple: { status, epoch, last seq, version (-1: none), published message or "" }:
    "ok"     sequenced; an outbox event the stream already reflects (a relay died after this script
             but before marking it done) is dropped, never given a second seq
    "gap"    base is ahead of the stream's version: changes before this batch are not sequenced
             yet, so the caller relays those first; nothing was done
    "moved"  a conditional rotation found the stream's version moved on; nothing was done
]]

local stream = KEYS[1]
local history = KEYS[2]
local channel = ARGV[1]
local candidate = ARGV[2]
local rotate = ARGV[3]
local size = tonumber(ARGV[4])
local ttl = tonumber(ARGV[5])
local node = ARGV[6]
local base = tonumber(ARGV[7])
local last = tonumber(ARGV[8])
local publish = ARGV[9]
local lifetime = tonumber(ARGV[10])
-- Events are ARGV triples after the ten fixed arguments.
local count = (#ARGV - 10) / 3
-- The stream's version; -1 when it has none (first use, written before versions, or Redis lost it).
local version = tonumber(redis.call('HGET', stream, 'version') or '-1')
local function head () return tonumber(redis.call('HGET', stream, 'seq') or '0') end

-- A conditional rotation that lost a race: another relay moved the stream on; the caller looks again.
local rotating = rotate == '*' or (rotate ~= '' and tonumber(rotate) == version)
if rotate ~= '' and not rotating then
  return { 'moved', redis.call('HGET', stream, 'epoch') or '', head(), version, '' }
end

-- This primary's replication id (INFO is allowed in scripts; effects are replicated, not the call).
local writer = string.match(redis.call('INFO', 'replication'), 'master_replid:(%w+)')

-- The epoch: created when missing (a new match, or the keys expired or were lost, which restarts
-- the counter too, so clients can tell), replaced on rotation and when another primary wrote it.
if not rotating then
  if redis.call('HSETNX', stream, 'epoch', candidate) == 1 then
    redis.call('HSET', stream, 'writer', writer)
    -- History of a sequence that is gone can never be replayed against the new one.
    redis.call('DEL', history)
    if lifetime > 0 then
      redis.call('PEXPIRE', stream, lifetime)
    end
  elseif redis.call('HGET', stream, 'writer') ~= writer then
    rotating = true
  end
end
local epoch
if rotating then
  epoch = candidate
  redis.call('HSET', stream, 'epoch', epoch, 'writer', writer)
  -- History of the old epoch can never be replayed against the new one.
  redis.call('DEL', history)
else
  epoch = redis.call('HGET', stream, 'epoch')
end

-- Outbox order: a batch may not skip changes the stream has not reflected yet.
if base ~= nil and not rotating and version >= 0 and base > version then
  return { 'gap', epoch, head(), version, '' }
end

-- Keep the events to sequence: outside the outbox, or announcing a version the stream lacks.
local kept = {}
for i = 1, count do
  local v = tonumber(ARGV[10 + 3 * i])
  if v == nil or v > version then
    kept[#kept + 1] = i
  end
end
if last ~= nil and last > version then
  version = last
  redis.call('HSET', stream, 'version', version)
end

-- Position read (or a batch already sequenced): nothing to sequence, nothing to announce.
if #kept == 0 and not rotating then
  return { 'ok', epoch, head(), version, '' }
end

-- Reserve consecutive seqs: first = last seq - kept + 1.
local seq = redis.call('HINCRBY', stream, 'seq', #kept)
local first = seq - #kept + 1
-- A finished match's keys go sooner than an idle one's; every batch sets the stream's lifetime.
if lifetime > 0 then
  redis.call('PEXPIRE', stream, lifetime)
end

-- Build each event's JSON with its seq, and append it to history.
local events = {}
for n, i in ipairs(kept) do
  events[n] = ARGV[8 + 3 * i] .. (first + n - 1) .. ARGV[9 + 3 * i]
end
if #events > 0 then
  if size > 0 and ttl > 0 then
    -- One RPUSH per event: `unpack` of a large batch would overflow Lua's stack.
    for n = 1, #events do
      redis.call('RPUSH', history, events[n])
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
local message = '{"v":1,"node":"' .. node .. '","epoch":"' .. epoch .. '","seq":' .. seq ..
  ',"events":[' .. table.concat(events, ',') .. ']}'
redis.call(publish, channel, message)

return { 'ok', epoch, seq, version, message }
