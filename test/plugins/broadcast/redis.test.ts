/**
 * Several instances sharing one Redis: rooms, sequences and resume span them all.
 */
import Fastify from 'fastify'
import t from 'tap'
import { Redis } from 'ioredis'
import { matchcastBroadcast, matchcastRedis, matchcastStore } from '../../../index.js'
import { RedisBroker } from '../../../plugins/broadcast/redis-broker.js'
import { clientOptions } from '../../../plugins/redis/index.js'
import { as, client, startApp, until } from '../../helper.js'
import { sharedRedisUrl, uniquePrefix } from '../../redis.js'
import { readSeqs, reported } from './fixtures.js'

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i)

t.test('three instances: a client on each sees every event, contiguous, whichever instance emitted it', async (t) => {
  const url = await sharedRedisUrl(t)
  const keyPrefix = uniquePrefix()
  const nodes = [await startApp(t, { redis: url, keyPrefix }), await startApp(t, { redis: url, keyPrefix }), await startApp(t, { redis: url, keyPrefix })]
  const clients = nodes.map(({ wsUrl }) => client(t, wsUrl, '/ws/matches/m1', as('u-fan')))
  for (const c of clients) t.match(await c.next(), { type: 'snapshot', seq: 0 })
  let total = 0
  for (let round = 0; round < 6; round++) {
    // Every instance emits in the same round: their batches interleave on Redis.
    for (const { app } of nodes) {
      app.matchcast.events.emit('m1', reported(++total))
      if (round % 2 === 0) app.matchcast.events.emit('m1', reported(++total))
    }
    await Promise.all(nodes.map(({ app }) => app.matchcast.events.flush()))
  }
  for (const c of clients) {
    t.same(await readSeqs(c, total), range(1, total))
    t.same(c.invalid, [])
  }
  const epochs = new Set(await Promise.all(nodes.map(async ({ app }) => (await app.matchcast.events.position('m1')).epoch)))
  t.equal(epochs.size, 1, 'one epoch for every instance')
})

t.test('resume on another instance replays from the shared history, then goes live', async (t) => {
  const url = await sharedRedisUrl(t)
  const keyPrefix = uniquePrefix()
  const a = await startApp(t, { redis: url, keyPrefix })
  const b = await startApp(t, { redis: url, keyPrefix })
  const first = client(t, a.wsUrl, '/ws/matches/m1', as('u-fan'))
  const { epoch } = await first.next()
  for (let i = 1; i <= 4; i++) a.app.matchcast.events.emit('m1', reported(i))
  await a.app.matchcast.events.flush()
  t.same(await readSeqs(first, 4), [1, 2, 3, 4])
  await first.close()
  for (let i = 5; i <= 6; i++) {
    a.app.matchcast.events.emit('m1', reported(i))
    await a.app.matchcast.events.flush()
  }
  const again = client(t, b.wsUrl, `/ws/matches/m1?lastSeq=2&epoch=${String(epoch)}`, as('u-fan'))
  t.same(await readSeqs(again, 4), [3, 4, 5, 6])
  a.app.matchcast.events.emit('m1', reported(7))
  await a.app.matchcast.events.flush()
  t.same(await readSeqs(again, 1), [7])
  const wrong = client(t, b.wsUrl, '/ws/matches/m1?lastSeq=2&epoch=old', as('u-fan'))
  t.match(await wrong.next(), { type: 'snapshot', seq: 7, epoch, resync: true })
})

t.test('app.close() with Redis: pending batches reach local sockets before they close 1001', async (t) => {
  const url = await sharedRedisUrl(t)
  const { app, wsUrl } = await startApp(t, { redis: url, keyPrefix: uniquePrefix(), batching: { windowMs: 60_000 } })
  const c = client(t, wsUrl, '/ws/matches/m1', as('u-fan'))
  await c.next()
  app.matchcast.events.emit('m1', reported(1))
  app.matchcast.events.emit('m1', reported(2))
  await app.close()
  t.same(await readSeqs(c, 2), [1, 2])
  t.same(await c.closeInfo(), { code: 1001, reason: 'shutdown' })
})

t.test('matchcast-redis registered after matchcast-broadcast fails ready() with a named error', async (t) => {
  const url = await sharedRedisUrl(t)
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(matchcastBroadcast, {})
  await app.register(matchcastRedis, { redis: url, keyPrefix: uniquePrefix() })
  await t.rejects(async () => { await app.ready() }, { code: 'MATCHCAST_ERR_INVALID_OPTS', message: /register matchcast-redis before matchcast-broadcast/ })
})

t.test('matchcast-store registered after matchcast-broadcast fails ready() with a named error (the outbox would go unrelayed)', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(matchcastBroadcast, {})
  await app.register(matchcastStore, {})
  await t.rejects(async () => { await app.ready() }, { code: 'MATCHCAST_ERR_INVALID_OPTS', message: /register matchcast-store before matchcast-broadcast/ })
})

t.test('matchcast-broadcast without a store has no outbox: reconcile repairs nothing', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(matchcastBroadcast, {})
  await app.ready()
  const { events } = app.matchcast
  t.equal(await events.reconcile('m1', await events.position('m1'), 3), false)
  t.equal(events.health(), undefined, 'a memory broker has no subscriber connections to report')
})

t.test('a broker ignores malformed messages and channels it no longer watches; a gap is filled from history', async (t) => {
  const url = await sharedRedisUrl(t)
  const prefix = uniquePrefix()
  const warnings: string[] = []
  const log = { info () {}, warn: (_obj: object, msg: string) => { warnings.push(msg) } }
  const client = new Redis(url, clientOptions(500))
  t.teardown(() => client.quit().catch(() => client.disconnect()))
  await until(() => client.status === 'ready')
  const subscriber = client.duplicate()
  const a = new RedisBroker({ client, subscriber, prefix, log, historySize: 10, historyTtlMs: 60_000 })
  const b = new RedisBroker({ client, subscriber: client.duplicate(), prefix, log, historySize: 10, historyTtlMs: 60_000 })
  t.teardown(() => Promise.all([a.close(), b.close()]))
  const got: number[] = []
  a.subscribe('m1', (events) => got.push(...events.map((e) => e.seq)))
  await until(() => subscriber.status === 'ready')
  subscriber.emit('message', `${prefix}:match:{m1}:events`, 'not json')
  subscriber.emit('message', `${prefix}:match:{m1}:events`, '{"v":2}')
  subscriber.emit('message', `${prefix}:match:nowhere:events`, '{}')
  t.same(warnings, ['matchcast: ignored a malformed broker message', 'matchcast: ignored a malformed broker message'])
  await b.publish('m1', [reported(1)])
  await b.publish('m1', [reported(2)])
  await until(() => got.length === 2)
  t.same(got, [1, 2])
  // The subscriber connection stalls while another node publishes 3 and 4; a batch with 4 alone
  // arrives first: 3 comes from history, and the stalled copies are dropped as duplicates.
  subscriber.stream.pause()
  await b.publish('m1', [reported(3)])
  const [fourth] = await b.publish('m1', [reported(4)])
  const { epoch } = await a.position('m1')
  subscriber.emit('message', `${prefix}:match:{m1}:events`, JSON.stringify({ v: 1, node: 'elsewhere', epoch, seq: 4, events: [fourth] }))
  await until(() => got.length === 4)
  subscriber.stream.resume()
  await b.publish('m1', [reported(5)])
  await until(() => got.length === 5)
  t.same(got, [1, 2, 3, 4, 5])
})

t.test('a command connection that drops: publish rejects, the match starts a new epoch when it is back, subscribers resync', async (t) => {
  const url = await sharedRedisUrl(t)
  const prefix = uniquePrefix()
  const logged: string[] = []
  const log = { info: (_obj: object, msg: string) => { logged.push(msg) }, warn: (_obj: object, msg: string) => { logged.push(msg) } }
  const client = new Redis(url, clientOptions(500))
  t.teardown(() => client.quit().catch(() => client.disconnect()))
  await until(() => client.status === 'ready')
  const subscriber = client.duplicate()
  const broker = new RedisBroker({ client, subscriber, prefix, log, historySize: 10, historyTtlMs: 60_000 })
  t.teardown(() => broker.close())
  t.equal(await broker.since('never-used', 0, 'any'), undefined, 'no stream: nothing to replay')
  const got: number[] = []
  let resyncs = 0
  broker.subscribe('m1', (events) => got.push(...events.map((e) => e.seq)), () => resyncs++)
  broker.subscribe('m1', () => {})
  await until(() => subscriber.status === 'ready')
  await broker.publish('m1', [reported(1)])
  const before = await broker.position('m1')

  client.disconnect()
  await until(() => client.status === 'end')
  await t.rejects(broker.publish('m1', [reported(2)]), { code: 'MATCHCAST_ERR_BROKER_UNAVAILABLE' })
  // A batch with a gap arrives while history cannot be read: the gate goes stale.
  subscriber.emit('message', `${prefix}:match:{m1}:events`, JSON.stringify({ v: 1, node: 'elsewhere', epoch: before.epoch, seq: 3, events: [] }))
  await until(() => logged.length === 1)
  t.same(logged, ['matchcast: Redis unreachable; match events cannot be sequenced, rooms resync when it answers'])

  // The first publish once it answers already carries the new epoch.
  let published: Promise<unknown> | undefined
  client.once('ready', () => { published = broker.publish('m1', [reported(3)]) })
  client.connect().catch(() => {})
  await until(() => published !== undefined)
  await published
  const after = await broker.position('m1')
  t.not(after.epoch, before.epoch, 'a new epoch: events of the lost batch can never be replayed as if complete')
  await until(() => resyncs > 0)
  t.same(got, [1], 'nothing delivered across the epochs')
  t.ok(logged.includes('matchcast: Redis answers again; match events are sequenced'))
  // Batches sequenced while the gate settles on the new epoch are folded into that resync.
  for (let i = 0; i < 10 && got.length === 1; i++) await broker.publish('m1', [reported(4)])
  const head = await broker.position('m1')
  t.same(got, [1, head.seq], 'then live again')
  await broker.publish('m1', [reported(5)])
  t.same(got, [1, head.seq, head.seq + 1], 'contiguous')
})

t.test('a subscription dropped before the server confirmed it is not reported; health tells the subscriber and its channels', async (t) => {
  const url = await sharedRedisUrl(t)
  const client = new Redis(url, clientOptions(500))
  t.teardown(() => client.quit().catch(() => client.disconnect()))
  await until(() => client.status === 'ready')
  const subscriber = client.duplicate()
  const broker = new RedisBroker({ client, subscriber, prefix: uniquePrefix(), log: { info () {}, warn () {} }, historySize: 10, historyTtlMs: 60_000 })
  t.teardown(() => broker.close())
  await until(() => subscriber.status === 'ready')
  const got: number[] = []
  const stop = broker.subscribe('m1', (events) => got.push(...events.map((e) => e.seq)))
  stop()
  const keep = broker.subscribe('m2', () => {})
  await broker.position('m2')
  await until(() => broker.health().subscribers[0]!.channels === 1)
  t.match(broker.health(), { subscribers: [{ status: 'up', channels: 1 }], pending: 0, messages: { received: 0 } })
  await broker.publish('m1', [reported(1)])
  t.same(got, [], 'nothing for the dropped subscription')
  keep()
})
