/**
 * The LimiterStore contract (plugins/rate-limit/store.ts), run against every backend: memory with
 * a fake clock, Redis with real (short) waits.
 */
import type { TestLike } from './test-like.js'
import type { LimiterStore } from '../plugins/rate-limit/store.js'

export interface StoreUnderTest {
  store: LimiterStore
  /** Lets `ms` pass for the store: a fake clock steps, a real clock is waited for. */
  advance (ms: number): Promise<void>
}

export function limiterStoreSuite (t: TestLike, factory: (t: TestLike) => Promise<StoreUnderTest>): void {
  t.test('acquire: up to max slots, then refused; users isolated', async (t) => {
    const { store } = await factory(t)
    t.equal(await store.acquire('u1', 'c1', 2), true)
    t.equal(await store.acquire('u1', 'c2', 2), true)
    t.equal(await store.acquire('u1', 'c3', 2), false, 'the third is over the limit')
    t.equal(await store.acquire('u2', 'c3', 2), true, 'another user has slots of its own')
  })

  t.test('acquire is idempotent per connection id', async (t) => {
    const { store } = await factory(t)
    t.equal(await store.acquire('u1', 'c1', 1), true)
    t.equal(await store.acquire('u1', 'c1', 1), true, 'the same id again takes no second slot')
    t.equal(await store.acquire('u1', 'c2', 1), false)
  })

  t.test('release frees the slot at once; releasing twice or an unknown id is a no-op', async (t) => {
    const { store } = await factory(t)
    await store.acquire('u1', 'c1', 2)
    await store.acquire('u1', 'c2', 2)
    await store.release('u1', 'c1')
    await store.release('u1', 'c1')
    await store.release('u1', 'unknown')
    await store.release('nobody', 'c1')
    t.equal(await store.acquire('u1', 'c3', 2), true)
    t.equal(await store.acquire('u1', 'c4', 2), false)
  })

  t.test('adopt counts an open connection even past the limit', async (t) => {
    const { store } = await factory(t)
    await store.acquire('u1', 'c1', 1)
    await store.adopt('u1', 'c2')
    await store.adopt('u2', 'c3')
    await store.release('u1', 'c1')
    t.equal(await store.acquire('u1', 'c4', 1), false, 'the adopted slot still counts')
    await store.release('u1', 'c2')
    t.equal(await store.acquire('u1', 'c4', 1), true)
    t.equal(await store.acquire('u2', 'c5', 1), false)
  })

  t.test('take: a full bucket lets burst messages through, then refuses with a reset time', async (t) => {
    const { store } = await factory(t)
    const results = []
    for (let i = 0; i < 3; i++) results.push(await store.take('u1', 10, 3))
    t.same(results.map((r) => r.allowed), [true, true, true])
    t.same(results.map((r) => r.remaining), [2, 1, 0])
    t.equal(results[0]!.resetMs, 0)
    const refused = await store.take('u1', 10, 3)
    t.equal(refused.allowed, false)
    t.equal(refused.remaining, 0)
    t.ok(refused.resetMs > 0 && refused.resetMs <= 100, `one token is back within 1/rate (${refused.resetMs} ms)`)
    t.equal((await store.take('u2', 10, 3)).allowed, true, 'another user has its own bucket')
  })

  t.test('take: the bucket refills at the rate, never above burst', async (t) => {
    const { store, advance } = await factory(t)
    for (let i = 0; i < 2; i++) await store.take('u1', 20, 2)
    t.equal((await store.take('u1', 20, 2)).allowed, false)
    await advance(120)
    t.equal((await store.take('u1', 20, 2)).allowed, true, 'a token came back after 1/rate')
    await advance(1000)
    const results = []
    for (let i = 0; i < 3; i++) results.push((await store.take('u1', 20, 2)).allowed)
    t.same(results, [true, true, false], 'refilled to burst, not beyond')
  })

  t.test('hit: counts per key in a fixed window, then starts again', async (t) => {
    const { store, advance } = await factory(t)
    const first = await store.hit('ip:a', 300)
    t.equal(first.count, 1)
    t.ok(first.ttlMs > 0 && first.ttlMs <= 300)
    t.equal((await store.hit('ip:a', 300)).count, 2)
    t.equal((await store.hit('ip:b', 300)).count, 1, 'keys are isolated')
    await advance(350)
    t.equal((await store.hit('ip:a', 300)).count, 1, 'a new window')
  })

  t.test('mode says where it counts; close resolves', async (t) => {
    const { store } = await factory(t)
    t.ok(store.mode === 'memory' || store.mode === 'redis')
    await store.close()
    t.pass()
  })
}
