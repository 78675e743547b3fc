/**
 * The outbox against Redis faults, with real redis-server processes frozen (SIGSTOP) and thawed:
 * an acked command's event is never lost, whether Redis stops answering while instances run or
 * while one of them shuts down; on the memory store (one process) and on PostgreSQL.
 */
import t, { type Test } from 'tap'
import { memoryStore, postgresStore, type Store } from '../../../index.js'
import { as, client, startApp, testSeed, type Client } from '../../helper.js'
import { DATABASE_URL, pgStore } from '../../postgres.js'
import { startRedis, uniquePrefix } from '../../redis.js'
import { eventsIn, type Ev, type Frame } from './fixtures.js'

/** Reads frames until an event satisfies `last`; fails on a snapshot (a resync) or a seq that is not the next one. */
async function eventsUntil (t: Test, c: Client, after: number, last: (e: Ev) => boolean): Promise<Ev[]> {
  const seen: Ev[] = []
  for (;;) {
    const frame = await c.next<Frame>(10_000)
    t.not(frame.type, 'snapshot', 'no resync')
    for (const e of eventsIn(frame)) {
      t.equal(e.seq, after + seen.length + 1, `seq ${e.seq} is the next one`)
      seen.push(e)
    }
    if (seen.some(last)) return seen
  }
}

const scoreOf = (e: Ev) => (e.data as { scores: Record<string, number> }).scores['u-b']

t.test('Redis frozen while commands are acked: their events arrive once it thaws, in the same epoch, contiguous', async (t) => {
  const redis = await startRedis(t)
  const keyPrefix = uniquePrefix()
  const store = memoryStore(testSeed())
  const options = { redis: redis.url, keyPrefix, store, outbox: { leaseMs: 300, sweepIntervalMs: 50 } }
  const a = await startApp(t, options)
  const b = await startApp(t, options)
  const org = client(t, a.wsUrl, '/ws/matches/m2', as('u-org'))
  const player = client(t, a.wsUrl, '/ws/matches/m2', as('u-b'))
  const fan = client(t, b.wsUrl, '/ws/matches/m2', as('u-fan'))
  const { epoch } = await org.next()
  await player.next()
  await fan.next()
  org.send({ type: 'score.update', id: 1, scores: { 'u-b': 1 } })
  // The ack and the event travel independently: either may come first.
  const sent = [await org.next(), await org.next()]
  t.same(sent.filter((f) => f.type === 'ack'), [{ type: 'ack', id: 1 }])
  t.same(sent.flatMap(eventsIn).map((e) => e.seq), [1])
  for (const c of [player, fan]) t.same(await eventsUntil(t, c, 0, (e) => scoreOf(e) === 1).then((es) => es.map((e) => e.seq)), [1])

  redis.freeze()
  org.send({ type: 'score.update', id: 2, scores: { 'u-b': 2 } })
  player.send({ type: 'result.report', id: 3, scores: { 'u-b': 2 } })
  org.send({ type: 'score.update', id: 4, scores: { 'u-b': 3 } })
  t.same(await org.next(), { type: 'ack', id: 2 }, 'acked: the store committed it, with its event in the outbox')
  t.same(await player.next(), { type: 'ack', id: 3 })
  t.same(await org.next(), { type: 'ack', id: 4 })
  // Long enough for the relays to time out against the frozen server.
  await new Promise((resolve) => setTimeout(resolve, 700))
  redis.thaw()

  const sequences = []
  for (const c of [org, player, fan]) {
    const events = await eventsUntil(t, c, 1, (e) => e.type === 'score_updated' && scoreOf(e) === 3)
    t.equal(events.filter((e) => e.type === 'result_reported').length, 1, 'the report arrives, once')
    sequences.push(events.map((e) => [e.seq, e.type, scoreOf(e)]))
  }
  t.same(sequences[1], sequences[0], 'every member sees the same events')
  t.same(sequences[2], sequences[0])
  t.equal((await b.app.matchcast.events.position('m2')).epoch, epoch, 'no new epoch: nothing had to be resynced')
  t.same(await store.pendingEvents('m2', 0), [], 'the outbox is empty')
  for (const c of [org, player, fan]) t.same(c.invalid, [])
})

for (const [name, stores] of [
  ['memory store', async () => { const s = memoryStore(testSeed()); return [s, s] as [Store, Store] }],
  ['PostgreSQL', async (t: Test) => {
    const first = await pgStore(t, testSeed())
    const second = postgresStore({ connectionString: DATABASE_URL, schema: first.schema })
    t.teardown(() => second.close())
    return [first, second] as [Store, Store]
  }]
] as const) {
  t.test(`app.close() with Redis frozen leaves the undone events in the outbox; the next instance publishes them (${name})`, async (t) => {
    const redis = await startRedis(t)
    const keyPrefix = uniquePrefix()
    const [storeA, storeB] = await stores(t)
    const outbox = { leaseMs: 300, sweepIntervalMs: 50 }
    // A window that never closes on its own: the event still waits in it when A shuts down.
    const a = await startApp(t, { redis: redis.url, keyPrefix, store: storeA, outbox, batching: { windowMs: 60_000 } })
    const b = await startApp(t, { redis: redis.url, keyPrefix, store: storeB, outbox })
    const org = client(t, a.wsUrl, '/ws/matches/m2', as('u-org'))
    const fan = client(t, b.wsUrl, '/ws/matches/m2', as('u-fan'))
    await org.next()
    await fan.next()
    org.send({ type: 'score.update', id: 1, scores: { 'u-b': 5 } })
    t.same(await org.next(), { type: 'ack', id: 1 })

    redis.freeze()
    const started = Date.now()
    await a.app.close()
    t.ok(Date.now() - started < 5000, `close finished while Redis was frozen (${Date.now() - started} ms)`)
    t.same(await org.closeInfo(), { code: 1001, reason: 'shutdown' })
    t.match(await storeB.pendingEvents('m2', 0), [{ version: 1, event: { type: 'score_updated' } }], 'left in the outbox')

    redis.thaw()
    t.same(eventsIn(await fan.next(10_000)).map((e) => [e.seq, scoreOf(e)]), [[1, 5]])
    await fan.ping()
    t.same(fan.unread, [], 'once')
    for (let i = 0; i < 100 && (await storeB.pendingEvents('m2', 0)).length > 0; i++) await new Promise((resolve) => setTimeout(resolve, 20))
    t.same(await storeB.pendingEvents('m2', 0), [], 'and marked done')
  })
}
