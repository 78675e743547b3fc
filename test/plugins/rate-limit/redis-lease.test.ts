/**
 * RedisLimiterStore with a lease, on a real redis-server: tokens leased a share at a time and spent
 * locally, script calls counted with MONITOR, refusals only when the lease and the bucket are both
 * empty, and the faults (a frozen and a killed server) that a lease request can meet.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import t, { type Test } from 'tap'
import { Redis } from 'ioredis'
import { LimiterTimeoutError } from '../../../lib/errors.js'
import { lowWaterMark } from '../../../plugins/rate-limit/lease.js'
import { RedisLimiterStore, type RedisLimiterStoreOptions } from '../../../plugins/rate-limit/redis-store.js'
import { clientOptions } from '../../../plugins/redis/index.js'
import { limiterStoreSuite } from '../../../testing/limiter-store-suite.js'
import { bucketScript, countCommands, startRedis, uniquePrefix, type RedisProcess } from '../../redis.js'

const redis = await startRedis(t)
const calls = await countCommands(t, redis.url, bucketScript)

type StoreOptions = Partial<Omit<RedisLimiterStoreOptions, 'client' | 'key'>>

async function open (t: Pick<Test, 'teardown'>, options: StoreOptions & { prefix?: string, server?: RedisProcess } = {}) {
  const { prefix = uniquePrefix(), server = redis, ...storeOptions } = options
  const client = new Redis(server.url, { ...clientOptions(500), lazyConnect: true })
  client.on('error', () => {})
  await client.connect()
  t.teardown(() => client.quit().catch(() => client.disconnect()))
  const store = new RedisLimiterStore({ client, key: (area, id) => `${prefix}:${area}:${id}`, connectionTtlMs: 30_000, ...storeOptions })
  t.teardown(() => store.close())
  return { store, client, prefix }
}

/** Script calls made while `fn` runs (and any request it left in flight lands). */
async function counting (fn: () => Promise<unknown>): Promise<number> {
  const before = await calls.count()
  await fn()
  await sleep(20)
  return await calls.count() - before
}

for (const leaseSize of [0, 1]) {
  t.test(`leaseSize ${leaseSize} conforms to the LimiterStore contract: no lease, the shared bucket exactly`, async (t) => {
    // Redis keeps time itself (TIME inside the scripts), so the suite waits for real.
    limiterStoreSuite(t, async (t) => ({ store: (await open(t, { leaseSize })).store, advance: (ms) => sleep(ms) }))
  })

  t.test(`leaseSize ${leaseSize}: one script call per message`, async (t) => {
    const { store } = await open(t, { leaseSize })
    t.equal(await counting(async () => { for (let i = 0; i < 10; i++) await store.take('u1', 100, 20) }), 10)
  })
}

t.test('a lease: one call leases a share, the next messages spend it without one; a quarter left asks for more', async (t) => {
  const { store, client, prefix } = await open(t, { leaseSize: 8 })
  const results: Array<{ allowed: boolean, remaining: number }> = []
  const made = await counting(async () => {
    for (let i = 0; i < 6; i++) results.push(await store.take('u1', 0.001, 40))
  })
  t.same(results.map((r) => r.allowed), [true, true, true, true, true, true])
  t.same(results.slice(0, 5).map((r) => r.remaining), [39, 38, 37, 36, 35], 'held here plus the bucket, as a bucket would say')
  t.equal(made, 2, 'the first message leased 8; the sixth left 2 (a quarter) and asked for 6 more in the background')
  t.equal(Math.round(Number(await client.hget(`${prefix}:limit-bucket:{u1}`, 'tokens'))), 26, '14 tokens leased from the bucket of 40')
})

t.test('one instance spends exactly the bucket; script calls stay near messages / (lease - low water)', async (t) => {
  const { store } = await open(t, { leaseSize: 8 })
  let allowed = 0
  const made = await counting(async () => {
    for (let i = 0; i < 40; i++) if ((await store.take('u1', 0.001, 40)).allowed) allowed++
  })
  t.equal(allowed, 40)
  t.ok(made <= Math.ceil(40 / (8 - lowWaterMark(8))) + 2, `${made} calls for 40 messages`)
  const refused = await store.take('u1', 0.001, 40)
  t.equal(refused.allowed, false, 'the 41st: nothing held, nothing in the bucket')
  t.equal(refused.remaining, 0)
  t.ok(refused.resetMs > 0)
})

t.test('two instances: refused only when the lease is empty and the bucket too; together exactly burst', async (t) => {
  const prefix = uniquePrefix()
  const a = await open(t, { leaseSize: 3, prefix })
  const b = await open(t, { leaseSize: 3, prefix })
  t.equal((await a.store.take('u1', 0.001, 6)).allowed, true, 'A leases 3')
  t.equal((await b.store.take('u1', 0.001, 6)).allowed, true, 'B leases the other 3')
  const onA = [await a.store.take('u1', 0.001, 6), await a.store.take('u1', 0.001, 6), await a.store.take('u1', 0.001, 6)]
  t.same(onA.map((r) => r.allowed), [true, true, false], 'A spends its lease, then Redis says the bucket is empty')
  const onB = [await b.store.take('u1', 0.001, 6), await b.store.take('u1', 0.001, 6), await b.store.take('u1', 0.001, 6)]
  t.same(onB.map((r) => r.allowed), [true, true, false], "B still spends its own lease after A's refusal")
})

t.test('messages that find the lease empty wait for one request together, and ask again for what it lacked', async (t) => {
  const { store } = await open(t, { leaseSize: 3 })
  let results: boolean[] = []
  const made = await counting(async () => {
    results = (await Promise.all(Array.from({ length: 5 }, () => store.take('u1', 0.001, 4)))).map((r) => r.allowed)
  })
  t.same(results, [true, true, true, true, false])
  t.equal(made, 3, '3 granted to the five; 1 more for the fourth and fifth; none left for the fifth')
})

t.test('leased tokens unused for the refill time are forgotten, not given back', async (t) => {
  let now = 1_000_000
  const { store, client, prefix } = await open(t, { leaseSize: 8, now: () => now })
  await store.take('u1', 1, 8) // leases the whole bucket, holds 7; the bucket refills in 8 s
  t.equal(await counting(() => store.take('u1', 1, 8)), 0, 'spent from the lease')
  now += 7_999
  t.equal(await counting(() => store.take('u1', 1, 8)), 0, 'still held just before the refill time')
  now += 8_000
  let refused
  t.equal(await counting(async () => { refused = await store.take('u1', 1, 8) }), 1, 'forgotten: the next message asks Redis')
  t.match(refused, { allowed: false }, 'and Redis, whose clock did not move, has nothing to lease')
  t.ok(Number(await client.hget(`${prefix}:limit-bucket:{u1}`, 'tokens')) < 1, 'the 5 forgotten tokens were not given back')
})

t.test('close forgets the leases', async (t) => {
  const { store } = await open(t, { leaseSize: 4 })
  await store.take('u1', 1, 8)
  await store.close()
  t.equal(await counting(() => store.take('u1', 1, 8)), 1)
})

t.test('a lease request slower than leaseTimeoutMs is abandoned: the message is not held, late tokens are not counted', async (t) => {
  const server = await startRedis(t)
  const { store, client, prefix } = await open(t, { leaseSize: 4, leaseTimeoutMs: 80, server })
  server.freeze()
  t.teardown(() => server.thaw())
  const started = Date.now()
  await t.rejects(store.take('u1', 0.001, 8), LimiterTimeoutError)
  t.ok(Date.now() - started < 1000, `rejected (80 ms timeout; room for a loaded machine) after ${Date.now() - started} ms`)
  server.thaw()
  // The late request runs once the server does.
  while (Number(await client.hget(`${prefix}:limit-bucket:{u1}`, 'tokens') ?? 8) > 4) await sleep(10)
  const next = await store.take('u1', 0.001, 8)
  t.same(next.allowed, true, 'a new request leases again')
  t.equal(next.remaining, 3, 'the abandoned request took 4 tokens that nobody spends: 3 held here, 0 in the bucket')
})

t.test('Redis killed: held tokens are spent, the message that needs Redis gets the error', async (t) => {
  const server = await startRedis(t)
  const { store } = await open(t, { leaseSize: 8, server })
  await store.take('u1', 0.001, 40)
  await server.kill()
  for (let i = 0; i < 7; i++) t.equal((await store.take('u1', 0.001, 40)).allowed, true, `held token ${i + 1}`)
  await t.rejects(store.take('u1', 0.001, 40), 'the lease is empty: Redis must answer, and cannot')
})
