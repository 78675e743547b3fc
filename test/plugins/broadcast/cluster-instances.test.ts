/**
 * Three matchcast instances on a real Redis Cluster: rooms, sequences and limits span them all,
 * for matches spread over every shard; `/readyz` reports the cluster and each shard's subscriber.
 */
import t from 'tap'
import { keySlot } from '../../../lib/key-slot.js'
import { memoryStore, type Seed } from '../../../index.js'
import { as, client, startApp, until } from '../../helper.js'
import { uniquePrefix } from '../../redis.js'
import { startCluster } from '../../redis-cluster.js'
import { Tracker, reported } from './fixtures.js'

const MATCHES = 200
const cluster = await startCluster(t)
/** Bounded waits: the first request of an instance opens its cluster connections and loads scripts. */
const WAIT = 10_000
const ids = Array.from({ length: MATCHES }, (_, i) => `m${i}`)

function seed (): Seed {
  return {
    tournaments: [{ id: 't1', name: 'Big Cup' }],
    members: [
      { tournamentId: 't1', userId: 'u-org', role: 'organizer' },
      { tournamentId: 't1', userId: 'u-a', role: 'participant' },
      { tournamentId: 't1', userId: 'u-b', role: 'participant' },
      { tournamentId: 't1', userId: 'u-fan', role: 'spectator' }
    ],
    matches: ids.map((id) => ({ id, tournamentId: 't1', participants: ['u-a', 'u-b'], state: 'live' as const }))
  }
}

async function instances (t: Parameters<typeof startApp>[0], count: number, options: Parameters<typeof startApp>[1] = {}) {
  const keyPrefix = uniquePrefix()
  // Instances of one deployment share its store as well as Redis.
  const store = memoryStore(seed())
  const nodes = []
  for (let i = 0; i < count; i++) nodes.push(await startApp(t, { redis: { cluster: cluster.startupNodes }, keyPrefix, store, ...options }))
  return nodes
}

t.test(`three instances, ${MATCHES} matches over every shard: clients on each instance see every event, contiguous`, async (t) => {
  const primaries = new Set(await Promise.all(ids.map((id) => cluster.primaryOf(keySlot(id)))))
  t.equal(primaries.size, 3, 'the matches live on all three primaries')
  const nodes = await instances(t, 3)
  const trackers: Tracker[] = []
  for (const { wsUrl } of nodes) {
    const c = client(t, wsUrl, '/ws/tournaments/t1', as('u-fan'))
    await c.opened
    trackers.push(new Tracker(c))
  }
  await until(() => trackers.every((tr) => tr.last.size === MATCHES), WAIT)
  const ROUNDS = 2
  for (let round = 0; round < ROUNDS; round++) {
    // Every instance emits for every match in the same round: their batches interleave on the shards.
    for (const [n, { app }] of nodes.entries()) for (const id of ids) app.matchcast.events.emit(id, reported(round * 3 + n))
    await Promise.all(nodes.map(({ app }) => app.matchcast.events.flush()))
  }
  const heads = new Map<string, number>()
  for (const id of ids) heads.set(id, (await nodes[0]!.app.matchcast.events.position(id)).seq)
  await until(() => trackers.every((tr) => ids.every((id) => tr.last.get(id) === heads.get(id))), WAIT).catch(() => {})
  for (const tr of trackers) await tr.stop()
  const emitted = ROUNDS * nodes.length * MATCHES
  t.comment(`${MATCHES} matches, ${emitted} events emitted; per client ${JSON.stringify(trackers.map(({ delivered, gaps, duplicates, resyncs, resynced }) => ({ delivered, gaps, duplicates, resyncs, resyncedMatches: resynced.size })))}`)
  for (const [i, tr] of trackers.entries()) {
    t.equal(tr.gaps, 0, `instance ${i}: no gap`)
    t.equal(tr.duplicates, 0, `instance ${i}: no duplicate`)
    t.same(ids.filter((id) => tr.last.get(id) !== heads.get(id)), [], `instance ${i}: every match where its stream ends`)
    // A publish or read that timed out on a loaded machine resyncs its match instead (a new
    // epoch): every other match gets all its events.
    t.same(tr.missing(heads), [], `instance ${i}: every event delivered, or its match resynced`)
    t.same(tr.c.invalid, [])
  }
  for (const [i, { app }] of nodes.entries()) {
    const health = app.matchcast.events.health()!
    t.equal(health.subscribers.length, 3, `instance ${i}: one subscriber per shard`)
    t.equal(health.messages.unwatched, 0, `instance ${i}: no message for a match it does not watch`)
  }
})

t.test('per-user connection and message limits hold across instances', async (t) => {
  const nodes = await instances(t, 3, { rateLimit: { maxConnectionsPerUser: 2, messagesPerSecond: 1, burst: 3 } })
  const first = client(t, nodes[0]!.wsUrl, '/ws/matches/m1', as('u-a'))
  const second = client(t, nodes[1]!.wsUrl, '/ws/matches/m2', as('u-a'))
  await first.next(WAIT)
  await second.next(WAIT)
  const third = client(t, nodes[2]!.wsUrl, '/ws/matches/m3', as('u-a'))
  t.same(await third.closeInfo(WAIT), { code: 4008, reason: 'too_many_connections' }, 'the third connection, on a third instance')
  const other = client(t, nodes[2]!.wsUrl, '/ws/matches/m3', as('u-b'))
  t.match(await other.next(WAIT), { type: 'snapshot' }, 'another user is not affected')
  // One bucket of 3 over both sockets: the fourth frame is over the limit, whichever instance gets it.
  first.send({ type: 'ping', id: 1 })
  second.send({ type: 'ping', id: 2 })
  t.match(await first.next(), { type: 'pong' })
  t.match(await second.next(), { type: 'pong' })
  first.send({ type: 'ping', id: 3 })
  t.match(await first.next(), { type: 'pong' })
  second.send({ type: 'ping', id: 4 })
  t.same(await second.closeInfo(WAIT), { code: 4009, reason: 'rate_limited' })
})

t.test('/readyz reports the cluster (every slot served) and each shard subscriber', async (t) => {
  const { app, wsUrl } = (await instances(t, 1))[0]!
  const room = client(t, wsUrl, '/ws/tournaments/t1', as('u-fan'))
  await room.next(WAIT)
  await until(() => app.matchcast.events.health()!.pending === 0, WAIT)
  const res = await app.inject({ url: '/readyz' })
  t.equal(res.statusCode, 200)
  const body = res.json()
  t.match(body, { status: 'ok', checks: { redis: { status: 'up', limiter: 'redis', cluster: { state: 'ok', slotsServed: 16384 }, pendingChannels: 0 } } })
  t.equal(body.checks.redis.subscribers.length, 3)
  t.same(body.checks.redis.subscribers.map((s: { status: string }) => s.status), ['up', 'up', 'up'])
  t.equal(body.checks.redis.subscribers.reduce((sum: number, s: { channels: number }) => sum + s.channels, 0), MATCHES, 'every match channel, once')
})
