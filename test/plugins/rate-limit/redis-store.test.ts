import { setTimeout as sleep } from 'node:timers/promises'
import t, { type Test } from 'tap'
import { Redis } from 'ioredis'
import { limiterStoreSuite } from '../../../testing/limiter-store-suite.js'
import { RedisLimiterStore } from '../../../plugins/rate-limit/redis-store.js'
import { clientOptions } from '../../../plugins/redis/index.js'
import { sharedRedisUrl, startRedis, uniquePrefix } from '../../redis.js'

const url = await sharedRedisUrl(t)

async function open (t: Pick<Test, 'teardown'>, url: string, options: { prefix?: string, ttlMs?: number } = {}) {
  const client = new Redis(url, { ...clientOptions(500), lazyConnect: true })
  client.on('error', () => {})
  await client.connect()
  t.teardown(() => client.quit().catch(() => client.disconnect()))
  const prefix = options.prefix ?? uniquePrefix()
  const store = new RedisLimiterStore({ client, key: (area, id) => `${prefix}:${area}:${id}`, connectionTtlMs: options.ttlMs ?? 30_000 })
  t.teardown(() => store.close())
  return { store, client, prefix }
}

t.test('RedisLimiterStore conforms to the LimiterStore contract', async (t) => {
  // Redis keeps time itself (TIME inside the scripts), so the suite waits for real.
  limiterStoreSuite(t, async (t) => ({ store: (await open(t, url)).store, advance: (ms) => sleep(ms) }))
})

t.test('two instances on one Redis share slots and buckets', async (t) => {
  const prefix = uniquePrefix()
  const a = await open(t, url, { prefix })
  const b = await open(t, url, { prefix })
  t.equal(await a.store.acquire('u1', 'a1', 2), true)
  t.equal(await b.store.acquire('u1', 'b1', 2), true)
  t.equal(await b.store.acquire('u1', 'b2', 2), false, 'the slot taken on A counts on B')
  await a.store.release('u1', 'a1')
  t.equal(await b.store.acquire('u1', 'b2', 2), true, 'and its release too, at once')
  t.equal((await a.store.take('u1', 1, 2)).allowed, true)
  t.equal((await b.store.take('u1', 1, 2)).allowed, true)
  t.equal((await a.store.take('u1', 1, 2)).allowed, false, 'one bucket for the user across instances')
})

t.test("a dead instance's slots expire after connectionTtlMs; a live instance's never do", async (t) => {
  const prefix = uniquePrefix()
  // Real waits: expiry is measured by Redis' own clock, which a fake timer cannot move.
  const live = await open(t, url, { prefix, ttlMs: 300 })
  const dead = await open(t, url, { prefix, ttlMs: 300 })
  const other = await open(t, url, { prefix, ttlMs: 300 })
  t.equal(await live.store.acquire('u-live', 'l1', 1), true)
  t.equal(await dead.store.acquire('u-dead', 'd1', 1), true)
  await dead.store.close() // the instance dies: no heartbeat, no release
  t.equal(await other.store.acquire('u-dead', 'o1', 1), false, 'still held right after the crash')
  await sleep(700)
  t.equal(await other.store.acquire('u-dead', 'o1', 1), true, 'free once the dead slot expired')
  t.equal(await other.store.acquire('u-live', 'o2', 1), false, 'the heartbeat kept the live slot')
})

t.test('the heartbeat re-adds slots Redis lost (restart, or expiry during an outage)', async (t) => {
  const { store, client, prefix } = await open(t, url, { ttlMs: 150 })
  await store.acquire('u1', 'c1', 5)
  await store.acquire('u1', 'c2', 5)
  await client.del(`${prefix}:limit-conns:{u1}`)
  // A real wait of a few heartbeats (every ttl/3 = 50 ms).
  await sleep(200)
  t.same((await client.zrange(`${prefix}:limit-conns:{u1}`, '0', '-1')).sort(), ['c1', 'c2'])
  t.ok(await client.pttl(`${prefix}:limit-conns:{u1}`) > 0, 'the set itself expires')
})

t.test('scripts run by SHA and are reloaded after SCRIPT FLUSH (NOSCRIPT)', async (t) => {
  const redis = await startRedis(t)
  const { store, client } = await open(t, redis.url)
  t.equal((await store.take('u1', 10, 5)).remaining, 4)
  await client.script('FLUSH')
  t.equal((await store.take('u1', 10, 5)).remaining, 3, 'reloaded and run')
  t.equal(await store.acquire('u1', 'c1', 1), true)
  t.same(await store.hit('k', 1000), { count: 1, ttlMs: 1000 })
  const second = await open(t, redis.url)
  t.equal((await second.store.take('u2', 10, 5)).remaining, 4, 'a second store on another client defines its own')
})

t.test('scripts are defined once per client', async (t) => {
  const first = await open(t, url)
  const defined = (first.client as unknown as Record<string, unknown>).matchcastLimiterTake
  const again = new RedisLimiterStore({ client: first.client, key: (a, id) => `${first.prefix}:${a}:${id}`, connectionTtlMs: 1000 })
  t.teardown(() => again.close())
  t.equal((first.client as unknown as Record<string, unknown>).matchcastLimiterTake, defined)
  t.equal(await again.acquire('u', 'c', 1), true)
})

t.test('a hit counter found without expiry gets one', async (t) => {
  const { store, client, prefix } = await open(t, url)
  await client.set(`${prefix}:limit-hits:k`, '7')
  t.same(await store.hit('k', 500), { count: 8, ttlMs: 500 })
  const later = await store.hit('k', 500)
  t.equal(later.count, 9)
  t.ok(later.ttlMs > 0 && later.ttlMs <= 500)
})

t.test('ping answers while Redis does; calls reject when it is down', async (t) => {
  const redis = await startRedis(t)
  const { store } = await open(t, redis.url)
  await store.ping()
  t.equal(store.mode, 'redis')
  await redis.kill()
  await t.rejects(store.take('u1', 1, 1))
  await t.rejects(store.ping())
  await store.refresh() // nothing held: nothing sent
})
