/**
 * The Redis broker on a real Redis Cluster (3 primaries, 3 replicas): the broker contract, one slot
 * per match, sharded channels, and scripts that load themselves on whichever primary serves a slot.
 */
import { once } from 'node:events'
import t from 'tap'
import { Cluster, Redis } from 'ioredis'
import { keySlot } from '../../../lib/key-slot.js'
import { RedisBroker } from '../../../plugins/broadcast/redis-broker.js'
import { ShardListener } from '../../../plugins/broadcast/shard-listener.js'
import { clusterOptions } from '../../../plugins/redis/index.js'
import { brokerSuite } from '../../../testing/broker-suite.js'
import type { TestLike } from '../../../testing/test-like.js'
import { freePort, uniquePrefix } from '../../redis.js'
import { startCluster } from '../../redis-cluster.js'
import { until } from '../../helper.js'
import { reported } from './fixtures.js'

const quiet = { info () {}, warn () {} }
const cluster = await startCluster(t)

async function connect (t: TestLike): Promise<Cluster> {
  const client = new Cluster(cluster.startupNodes, clusterOptions(500))
  client.on('error', () => {})
  t.teardown(() => client.quit().catch(() => client.disconnect()))
  await once(client, 'ready')
  return client
}

/** The subscriber connections the brokers of this file opened, newest last. */
const connections: Redis[] = []

function broker (t: TestLike, client: Cluster, prefix: string, setup: Partial<ConstructorParameters<typeof RedisBroker>[0]> = {}): RedisBroker {
  const b = new RedisBroker({
    historySize: 100,
    historyTtlMs: 60_000,
    ...setup,
    client,
    subscriber: (node) => {
      const conn = new Redis({ ...node, enableOfflineQueue: true, retryStrategy: () => null })
      conn.on('error', () => {})
      connections.push(conn)
      return conn
    },
    prefix,
    log: quiet
  })
  t.teardown(() => b.close())
  return b
}

t.test('RedisBroker on a cluster conforms to the broker contract', async (t) => {
  brokerSuite(t, async (t, setup) => broker(t, await connect(t), uniquePrefix(), setup))
})

t.test('every key of a match is in its slot; events travel on its sharded channel, to the shard that owns it', async (t) => {
  const client = await connect(t)
  const prefix = uniquePrefix()
  const a = broker(t, client, prefix)
  const b = broker(t, client, prefix)
  const matches = Array.from({ length: 30 }, (_, i) => `m${i}`)
  const got = new Map<string, number[]>()
  for (const id of matches) b.subscribe(id, (events) => got.set(id, [...got.get(id) ?? [], ...events.map((e) => e.seq)]))
  // As a room does: the position read after subscribing is where delivery starts.
  await Promise.all(matches.map((id) => b.position(id)))
  await until(() => b.health().pending === 0, 5000)
  const shards = new Set(b.health().subscribers.map((s) => s.node))
  t.equal(shards.size, 3, 'one subscriber connection per shard, each holding its matches')
  t.same(b.health().subscribers.map((s) => s.status), ['up', 'up', 'up'])
  for (const id of matches) await a.publish(id, [reported(1), reported(2)])
  await until(() => matches.every((id) => got.get(id)?.length === 2), 5000)
  t.same([...new Set(matches.map((id) => JSON.stringify(got.get(id))))], ['[1,2]'], 'every match: 1, 2')
  t.same(b.health().messages, { received: 30, own: 0, unwatched: 0 }, 'B got each batch once, and nothing it did not need')
  t.same(a.health(), { subscribers: [], pending: 0, messages: { received: 0, own: 0, unwatched: 0 } }, 'A watches nothing: no subscriber, no message')
  for (const id of matches.slice(0, 3)) {
    const keys = (await Promise.all(cluster.nodes.map(async (n) => await cluster.command(n.port, 'KEYS', `${prefix}:match:{${id}}*`).catch(() => []) as string[]))).flat()
    t.same(new Set(keys.map(keySlot)), new Set([keySlot(id)]), `${id}: stream and history in the slot of its id`)
  }
  // Plain PUBLISH would go over the cluster bus to every node; SPUBLISH stays in its shard.
  const infos = await Promise.all(cluster.nodes.map((n) => cluster.command(n.port, 'CLUSTER', 'INFO') as Promise<string>))
  const sent = (name: string) => infos.reduce((sum, info) => sum + Number(new RegExp(`${name}:(\\d+)`).exec(info)?.[1] ?? 0), 0)
  t.equal(sent('cluster_stats_messages_publish_sent'), 0, 'no broadcast publish on the cluster bus')
  t.ok(sent('cluster_stats_messages_publishshard_sent') > 0, 'sharded publishes reach the replicas of the shard')
})

t.test('scripts load themselves on whichever primary serves the slot (NOSCRIPT)', async (t) => {
  const client = await connect(t)
  const b = broker(t, client, uniquePrefix())
  t.same((await b.publish('m1', [reported(1)])).map((e) => e.seq), [1])
  await Promise.all(cluster.nodes.map((n) => cluster.command(n.port, 'SCRIPT', 'FLUSH')))
  t.same((await b.publish('m1', [reported(2)])).map((e) => e.seq), [2], 'reloaded where m1 lives')
  t.same((await b.publish('m2', [reported(1)])).map((e) => e.seq), [1])
})

t.test('a cluster broker needs a subscriber per node; a single-server one a connection', async (t) => {
  const client = await connect(t)
  t.throws(() => new RedisBroker({ historySize: 1, historyTtlMs: 1, client, subscriber: new Redis({ lazyConnect: true }), prefix: 'x', log: quiet }), /pass subscriber as \(node\) => Redis/)
  const single = new Redis({ lazyConnect: true })
  t.throws(() => new RedisBroker({ historySize: 1, historyTtlMs: 1, client: single, subscriber: () => single, prefix: 'x', log: quiet }), /pass subscriber as a Redis client/)
})

t.test("a shard's subscriptions ended by the server (MOVED, slot migrated): its channels subscribe again, the gap comes from history", async (t) => {
  const client = await connect(t)
  const prefix = uniquePrefix()
  const a = broker(t, client, prefix)
  const b = broker(t, client, prefix)
  const got: number[] = []
  let resyncs = 0
  const opened = connections.length
  b.subscribe('m1', (events) => got.push(...events.map((e) => e.seq)), () => resyncs++)
  await b.position('m1')
  await until(() => b.health().pending === 0, 5000)
  const conn = connections[opened]!
  await a.publish('m1', [reported(1)])
  await until(() => got.length === 1, 5000)
  // As after a migration: the server dropped the subscription (ioredis reports it as `moved`).
  await conn.sunsubscribe()
  conn.emit('moved')
  await a.publish('m1', [reported(2)])
  await until(() => b.health().pending === 0 && got.length === 2, 5000)
  await a.publish('m1', [reported(3)])
  await until(() => got.length === 3, 5000)
  t.same(got, [1, 2, 3], 'contiguous: 2 came from history')
  t.equal(resyncs, 0)
  await b.close()
  conn.emit('moved')
  t.pass('a late notice after close is ignored')
})

t.test('a channel whose slot the client does not know yet waits, and subscribes once the slot map arrives', async (t) => {
  // A client that has not loaded the slot map yet (it loads it on connecting).
  const client = new Cluster(cluster.startupNodes, clusterOptions(500))
  client.on('error', () => {})
  t.teardown(() => client.quit().catch(() => client.disconnect()))
  const b = broker(t, client, uniquePrefix())
  const matchId = 'm-early'
  t.equal(client.slots[keySlot(matchId)], undefined, 'no slot map yet')
  const got: number[] = []
  t.teardown(b.subscribe(matchId, (events) => got.push(...events.map((e) => e.seq))))
  t.equal(b.health().pending, 1, 'its channel waits')
  await once(client, 'ready')
  await until(() => b.health().pending === 0, 15_000)
  // Delivery starts at the subscription's first read of the stream: wait for it before publishing.
  const from = await b.position(matchId)
  await b.publish(matchId, [reported(from.seq + 1)])
  await until(() => got.length > 0, 5000)
  t.same(got, [from.seq + 1], 'subscribed: events flow')
})

t.test('health: a shard connection still connecting is down, then up once subscribed', async (t) => {
  const client = await connect(t)
  const b = broker(t, client, uniquePrefix())
  t.teardown(b.subscribe('m-health', () => {}))
  t.match(b.health(), { subscribers: [{ status: 'down', channels: 1 }], pending: 1 }, 'the connection was just opened')
  await until(() => b.health().pending === 0, 15_000)
  t.match(b.health(), { subscribers: [{ status: 'up', channels: 1 }], pending: 0 })
})

t.test('a closed broker opens no subscriber connection', async (t) => {
  const client = await connect(t)
  const b = broker(t, client, uniquePrefix())
  await b.close()
  const opened = connections.length
  b.subscribe('m-closed', () => {})
  t.equal(connections.length, opened, 'nothing connects')
  t.same(b.health().subscribers, [])
})

t.test('shard listener: a subscription refused while it is open is retried; one refused as it closes is dropped', async (t) => {
  const client = await connect(t)
  const dead = await freePort()
  // A shard connection that refuses every command at once (nothing listens, no offline queue).
  const refusing = () => {
    const conn = new Redis({ port: dead, lazyConnect: true, enableOfflineQueue: false, retryStrategy: () => null })
    conn.on('error', () => {})
    return conn
  }
  const errors: unknown[] = []
  const hooks = { message () {}, subscribed () { t.fail('nothing is subscribed') }, lost () {}, error: (err: unknown) => errors.push(err) }

  const open = new ShardListener(client, refusing, hooks)
  open.add(['{m-refused}:events'])
  await until(() => errors.length > 0, 5000)
  t.match(String(errors[0]), /enableOfflineQueue/, 'the refusal is reported')
  t.equal(open.health().pending, 1, 'the channel waits for a retry')
  await open.close()

  const closing = new ShardListener(client, refusing, hooks)
  closing.add(['{m-closing}:events'])
  const seen = errors.length
  await closing.close()
  await new Promise((resolve) => setImmediate(resolve))
  t.equal(errors.length, seen, 'a refusal after close is not reported')
  t.same(closing.health(), { subscribers: [], pending: 0 })
  await closing.close()
  t.pass('closing twice is harmless')
})

t.test('subscriptions left on a primary that a failover demoted (its notice missed) move at the next slot-map refresh; events flow again', async (t) => {
  const client = await connect(t)
  const prefix = uniquePrefix()
  const a = broker(t, client, prefix)
  const b = broker(t, client, prefix)
  // Two matches whose slots one primary serves.
  const owner = (id: string) => client.slots[keySlot(id)]![0]!
  const first = 'm-left-0'
  let i = 1
  while (owner(`m-left-${i}`) !== owner(first)) i++
  const ids = [first, `m-left-${i}`]
  const node = owner(first)
  const got = new Map<string, number[]>()
  const opened = connections.length
  // What B got of each match: the score each event carries.
  const scoreOf = (e: { data: unknown }) => (e.data as { scores: Record<string, number> }).scores['u-a']!
  for (const id of ids) b.subscribe(id, (events) => got.set(id, [...got.get(id) ?? [], ...events.map(scoreOf)]))
  await Promise.all(ids.map((id) => b.position(id)))
  await until(() => b.health().pending === 0, 5000)
  t.same(b.health().subscribers.map((s) => [s.node, s.channels]), [[node, 2]])
  for (const id of ids) await a.publish(id, [reported(1)])
  await until(() => ids.every((id) => got.get(id)?.length === 1), 5000)

  // The notice of the demotion does not reach the listener (ioredis can match it to a queued command).
  const held = connections[opened]!
  held.removeAllListeners('moved')
  const promoted = `127.0.0.1:${await cluster.failover(Number(node.split(':')[1]))}`
  // The refresh every SLOTS_REFRESH_INTERVAL_MS would do; asked for here so the test does not wait for it.
  await new Promise((resolve) => client.refreshSlotsCache(resolve))
  await until(() => b.health().pending === 0 && b.health().subscribers.length === 1, 10_000)
  t.same(b.health().subscribers.map((s) => [s.node, s.channels]), [[promoted, 2]], 'both moved to the promoted replica')
  t.equal(held.status, 'end', 'the old connection, left with nothing, is closed')
  // B's gates re-read their streams once subscribed again (the primary changed, so a new epoch
  // starts, and what was published before that read is a resync): publish until the latest event
  // of each match reaches B, as it never does on a node that no longer serves the slot.
  let score = 1
  const deadline = Date.now() + 10_000
  do {
    score++
    for (const id of ids) await a.publish(id, [reported(score)])
    await new Promise((resolve) => setTimeout(resolve, 100))
  } while (!ids.every((id) => got.get(id)!.at(-1) === score) && Date.now() < deadline)
  t.same(ids.map((id) => got.get(id)!.at(-1)), [score, score], 'the events published after the failover reach B')
})
