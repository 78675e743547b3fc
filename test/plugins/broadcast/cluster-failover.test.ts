/**
 * Faults of a real Redis Cluster while three matchcast instances stream events: a replica taking
 * over (`CLUSTER FAILOVER`), a primary killed with SIGKILL, slots moved to another primary
 * (`redis-cli --cluster reshard`). Nothing crashes; every client on every instance sees each match
 * contiguously, never a gap or a duplicate (a resync snapshot, with a new epoch, is allowed) and
 * ends where the stream ends. Each test prints its counts.
 */
import t, { type Test } from 'tap'
import { keySlot } from '../../../lib/key-slot.js'
import { memoryStore, type Seed } from '../../../index.js'
import { as, client, startApp, until, type TestApp } from '../../helper.js'
import { uniquePrefix } from '../../redis.js'
import { startCluster } from '../../redis-cluster.js'
import { Tracker, reported } from './fixtures.js'

const WAIT = 20_000
const cluster = await startCluster(t)

function seed (ids: string[]): Seed {
  return {
    tournaments: [{ id: 't1', name: 'Cup' }],
    members: ['u-a', 'u-b', 'u-fan'].map((userId) => ({ tournamentId: 't1', userId, role: userId === 'u-fan' ? 'spectator' as const : 'participant' as const })),
    matches: ids.map((id) => ({ id, tournamentId: 't1', participants: ['u-a', 'u-b'], state: 'live' as const }))
  }
}

interface Stream {
  nodes: TestApp[]
  trackers: Tracker[]
  ids: string[]
  /** Emits one event per match from rotating instances until `stop`; resolves with how many it emitted. */
  run (): { stop (): Promise<number> }
}

async function stream (t: Test, ids: string[]): Promise<Stream> {
  const keyPrefix = uniquePrefix()
  const store = memoryStore(seed(ids))
  const logs = { level: 'error' }
  const nodes: TestApp[] = []
  for (let i = 0; i < 3; i++) nodes.push(await startApp(t, { redis: { cluster: cluster.startupNodes }, keyPrefix, store }, seed(ids), { logger: logs }))
  const trackers: Tracker[] = []
  for (const { wsUrl } of nodes) {
    const c = client(t, wsUrl, '/ws/tournaments/t1', as('u-fan'))
    await c.opened
    trackers.push(new Tracker(c))
  }
  await until(() => trackers.every((tr) => tr.last.size === ids.length), WAIT)
  return {
    nodes,
    trackers,
    ids,
    run () {
      const state = { running: true }
      let emitted = 0
      const loop = (async () => {
        for (let round = 0; state.running; round++) {
          const { app } = nodes[round % nodes.length]!
          for (const id of ids) app.matchcast.events.emit(id, reported(round))
          emitted += ids.length
          await app.matchcast.events.flush()
          await new Promise((resolve) => setTimeout(resolve, 20))
        }
      })()
      return {
        async stop () {
          state.running = false
          await loop
          return emitted
        }
      }
    }
  }
}

/** Waits until every client stands where each match's stream stands, then checks and prints the counts. */
async function settle (t: Test, s: Stream, emitted: number, name: string): Promise<void> {
  await cluster.healthy()
  const { app } = s.nodes[0]!
  // A last event per match on a healthy cluster: whatever was lost before shows up as a resync or a gap now.
  for (const id of s.ids) app.matchcast.events.emit(id, reported(-1))
  await app.matchcast.events.flush()
  const heads = new Map<string, number>()
  const deadline = Date.now() + WAIT
  for (;;) {
    for (const id of s.ids) heads.set(id, (await app.matchcast.events.position(id)).seq)
    if (s.trackers.every((tr) => s.ids.every((id) => tr.last.get(id) === heads.get(id)))) break
    if (Date.now() > deadline) break
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  for (const tr of s.trackers) await tr.stop()
  const behind = s.trackers.map((tr) => s.ids.filter((id) => tr.last.get(id) !== heads.get(id)))
  if (behind.some((ids) => ids.length > 0)) {
    // What each instance's listener says, to tell a subscription never restored from one that lost messages.
    for (const [i, { app }] of s.nodes.entries()) {
      const slots = [...new Set(behind[i]!.map((id) => keySlot(id)))]
      t.comment(`instance ${i}: behind on ${behind[i]!.join(' ')} (slots ${slots.join(' ')}); broker ${JSON.stringify(app.matchcast.events.health())}`)
    }
  }
  const counts = s.trackers.map((tr) => ({ delivered: tr.delivered, gaps: tr.gaps, duplicates: tr.duplicates, resyncs: tr.resyncs }))
  t.comment(`${name}: ${s.ids.length} matches, ${emitted} events emitted; per client ${JSON.stringify(counts)}`)
  for (const [i, tr] of s.trackers.entries()) {
    t.equal(tr.gaps, 0, `client ${i}: no gap`)
    t.equal(tr.duplicates, 0, `client ${i}: no duplicate`)
    t.same(behind[i], [], `client ${i}: every match where its stream ends`)
    t.same(tr.c.invalid, [])
  }
  for (const { app } of s.nodes) t.equal((await app.inject({ url: '/healthz' })).statusCode, 200, 'the instance is up')
}

const matchIds = (n: number) => Array.from({ length: n }, (_, i) => `f${i}`)

t.test('CLUSTER FAILOVER mid-stream: no crash, no gap, no duplicate', async (t) => {
  const s = await stream(t, matchIds(24))
  const run = s.run()
  await new Promise((resolve) => setTimeout(resolve, 300))
  const primary = await cluster.primaryOf(keySlot('f0'))
  const promoted = await cluster.failover(primary)
  t.equal(await cluster.primaryOf(keySlot('f0')), promoted, "f0's slot is served by the former replica")
  await new Promise((resolve) => setTimeout(resolve, 300))
  await settle(t, s, await run.stop(), 'CLUSTER FAILOVER')
})

t.test('a primary killed with SIGKILL mid-stream: no crash, no gap, no duplicate', async (t) => {
  const s = await stream(t, matchIds(24))
  const run = s.run()
  await new Promise((resolve) => setTimeout(resolve, 300))
  const primary = await cluster.primaryOf(keySlot('f1'))
  const promoted = await cluster.killPrimary(primary)
  t.equal(await cluster.primaryOf(keySlot('f1')), promoted, "f1's slot is served by its former replica")
  await new Promise((resolve) => setTimeout(resolve, 300))
  const emitted = await run.stop()
  // The killed node comes back as a replica, so the cluster keeps a replica per shard.
  await cluster.nodes.find((n) => n.port === primary)!.restart()
  await settle(t, s, emitted, 'kill -9 of a primary')
})

t.test('slots moved to another primary mid-stream (redis-cli --cluster reshard): no gap, no duplicate', async (t) => {
  const from = await cluster.primaryOf(0)
  const slots = (await cluster.command(from, 'CLUSTER', 'SLOTS') as Array<[number, number, [string, number]]>)
    .filter(([, , [, port]]) => port === from).map(([lo]) => lo).sort((a, b) => a - b)
  const lowest = slots[0]!
  // reshard moves the source's lowest slots: half of these matches move, half stay.
  const ids: string[] = []
  for (let i = 0; ids.length < 12; i++) if (keySlot(`r${i}`) >= lowest && keySlot(`r${i}`) < lowest + 200) ids.push(`r${i}`)
  for (let i = 0; ids.length < 24; i++) if (await cluster.primaryOf(keySlot(`s${i}`)) !== from) ids.push(`s${i}`)
  const to = await cluster.primaryOf(keySlot('s0'))
  const s = await stream(t, ids)
  const run = s.run()
  await new Promise((resolve) => setTimeout(resolve, 300))
  await cluster.reshard(from, to, 200)
  t.equal(await cluster.primaryOf(keySlot(ids[0]!)), to, 'the slots moved')
  await new Promise((resolve) => setTimeout(resolve, 300))
  await settle(t, s, await run.stop(), 'reshard of 200 slots')
})
