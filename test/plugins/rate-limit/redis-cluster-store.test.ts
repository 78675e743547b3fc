/**
 * The Redis limiter store on a real Redis Cluster: the LimiterStore contract, every key of a user in
 * one slot, scripts loaded on whichever primary serves it, and two instances sharing the limits.
 */
import { once } from 'node:events'
import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { Cluster } from 'ioredis'
import { keySlot } from '../../../lib/key-slot.js'
import { RedisLimiterStore } from '../../../plugins/rate-limit/redis-store.js'
import { clusterOptions } from '../../../plugins/redis/index.js'
import { limiterStoreSuite } from '../../../testing/limiter-store-suite.js'
import type { TestLike } from '../../../testing/test-like.js'
import { uniquePrefix } from '../../redis.js'
import { startCluster } from '../../redis-cluster.js'

const cluster = await startCluster(t)

async function open (t: TestLike, prefix = uniquePrefix(), leaseSize = 1) {
  const client = new Cluster(cluster.startupNodes, clusterOptions(500))
  client.on('error', () => {})
  t.teardown(() => client.quit().catch(() => client.disconnect()))
  await once(client, 'ready')
  const store = new RedisLimiterStore({ client, key: (area, id) => `${prefix}:${area}:${id}`, connectionTtlMs: 30_000, leaseSize })
  t.teardown(() => store.close())
  return { store, client, prefix }
}

t.test('RedisLimiterStore on a cluster conforms to the LimiterStore contract', async (t) => {
  // Redis keeps time itself (TIME inside the scripts), so the suite waits for real.
  limiterStoreSuite(t, async (t) => ({ store: (await open(t)).store, advance: (ms) => sleep(ms) }))
})

t.test("every key of a user's limits is in the slot of the user id", async (t) => {
  const { store, prefix } = await open(t)
  for (const user of ['u-a', 'u-b', 'Łódź', 'u}x']) {
    await store.acquire(user, 'c1', 5)
    await store.take(user, 10, 5)
    const keys = (await Promise.all(cluster.nodes.map(async (n) => await cluster.command(n.port, 'KEYS', `${prefix}:limit-*`).catch(() => []) as string[]))).flat()
      .filter((k) => k.includes(`{${user}}`))
    t.equal(keys.length, 2, `${user}: slots and bucket`)
    t.equal(new Set(keys.map(keySlot)).size, 1, `${user}: one slot`)
  }
})

t.test('scripts load themselves on whichever primary serves the slot (NOSCRIPT)', async (t) => {
  const { store } = await open(t)
  t.equal((await store.take('u1', 10, 5)).remaining, 4)
  await Promise.all(cluster.nodes.map((n) => cluster.command(n.port, 'SCRIPT', 'FLUSH')))
  t.equal((await store.take('u1', 10, 5)).remaining, 3, 'reloaded and run')
  t.equal(await store.acquire('u1', 'c1', 1), true)
  t.same(await store.hit('k', 1000), { count: 1, ttlMs: 1000 })
})

t.test('two instances on one cluster share slots and buckets', async (t) => {
  const prefix = uniquePrefix()
  const a = await open(t, prefix)
  const b = await open(t, prefix)
  t.equal(await a.store.acquire('u1', 'a1', 2), true)
  t.equal(await b.store.acquire('u1', 'b1', 2), true)
  t.equal(await b.store.acquire('u1', 'b2', 2), false, 'the slot taken on A counts on B')
  t.equal((await a.store.take('u1', 1, 2)).allowed, true)
  t.equal((await b.store.take('u1', 1, 2)).allowed, true)
  t.equal((await a.store.take('u1', 1, 2)).allowed, false, 'one bucket for the user across instances')
})

t.test('leases on a cluster: two instances lease from the one bucket in the slot of the user', async (t) => {
  const prefix = uniquePrefix()
  const a = await open(t, prefix, 3)
  const b = await open(t, prefix, 3)
  const allowed: boolean[] = []
  for (let i = 0; i < 5; i++) {
    allowed.push((await a.store.take('Łódź', 0.001, 6)).allowed)
    allowed.push((await b.store.take('Łódź', 0.001, 6)).allowed)
  }
  t.same(allowed, [true, true, true, true, true, true, false, false, false, false], 'the burst of 6, in two leases of 3, then none')
  await Promise.all(cluster.nodes.map((n) => cluster.command(n.port, 'SCRIPT', 'FLUSH')))
  const c = await open(t, prefix, 3)
  t.equal((await c.store.take('u2', 10, 6)).remaining, 5, 'a lease loads the script on the primary of its slot too')
})
