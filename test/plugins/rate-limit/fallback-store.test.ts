/**
 * FallbackLimiterStore against a scripted shared store: every switch, timeout and race, on a
 * deterministic double. The real Redis outage is in fallback-redis.test.ts.
 */
import t, { type Test } from 'tap'
import { LimiterTimeoutError } from '../../../lib/errors.js'
import { FallbackLimiterStore, type ProbedStore } from '../../../plugins/rate-limit/fallback-store.js'
import { MemoryLimiterStore } from '../../../plugins/rate-limit/memory-store.js'
import { until } from '../../helper.js'

// The store's timers are unref'd (they never hold a server open); a hung call holds no handle
// either, so keep this test process alive while its tests wait.
const keepAlive = setInterval(() => {}, 1000)
t.teardown(() => clearInterval(keepAlive))

type State = 'up' | 'down' | 'hang'

/** A shared store that answers, fails or hangs on command; `calls` counts what reached it. */
class ScriptedStore extends MemoryLimiterStore implements ProbedStore {
  override readonly mode = 'memory' as const
  state: State = 'up'
  /** Overrides `state` for `adopt` alone. */
  adoptState: State | undefined
  calls = 0
  released: string[] = []
  #hung: Array<() => void> = []

  /** Lets every hung call go on. */
  resume (): void {
    for (const go of this.#hung.splice(0)) go()
  }

  async #gate (state = this.state): Promise<void> {
    this.calls++
    if (state === 'down') throw new Error('connection refused')
    if (state === 'hang') await new Promise<void>((resolve) => this.#hung.push(resolve))
  }

  override async acquire (userId: string, connectionId: string, max: number) { await this.#gate(); return super.acquire(userId, connectionId, max) }
  override async adopt (userId: string, connectionId: string) { await this.#gate(this.adoptState ?? this.state); return super.adopt(userId, connectionId) }
  override async release (userId: string, connectionId: string) {
    await this.#gate()
    this.released.push(connectionId)
    return super.release(userId, connectionId)
  }

  override async take (userId: string, rate: number, burst: number) { await this.#gate(); return super.take(userId, rate, burst) }
  override async hit (key: string, windowMs: number) { await this.#gate(); return super.hit(key, windowMs) }
  async ping (): Promise<void> { await this.#gate() }
}

function setup (t: Test, options: { timeoutMs?: number, probeIntervalMs?: number } = {}) {
  const shared = new ScriptedStore()
  const memory = new MemoryLimiterStore()
  const warnings: Array<{ obj: object, msg: string }> = []
  const infos: string[] = []
  const store = new FallbackLimiterStore(shared, memory, {
    timeoutMs: options.timeoutMs ?? 50,
    probeIntervalMs: options.probeIntervalMs ?? 10,
    log: { warn: (obj, msg) => warnings.push({ obj, msg }), info: (msg) => infos.push(msg) }
  })
  t.teardown(() => store.close())
  return { shared, memory, store, warnings, infos }
}

t.test('while the shared store answers, it decides, and memory mirrors this instance', async (t) => {
  const { shared, memory, store } = setup(t)
  t.equal(store.mode, 'redis')
  t.equal(await store.acquire('u1', 'c1', 1), true)
  t.equal(await shared.acquire('u1', 'other', 1), false, 'counted in the shared store')
  t.equal(await memory.acquire('u1', 'other', 1), false, 'and mirrored in memory')
  t.equal(await store.acquire('u1', 'c2', 1), false)
  t.equal((await store.take('u1', 1, 1)).allowed, true)
  t.equal((await memory.take('u1', 1, 1)).allowed, false, 'the message was mirrored')
  t.equal((await store.hit('k', 1000)).count, 1)
  t.equal((await store.hit('k', 1000)).count, 2)
})

t.test('a failing shared store: answered from memory, one warning, no further calls to it', async (t) => {
  const { shared, store, warnings } = setup(t, { probeIntervalMs: 60_000 })
  await store.acquire('u1', 'c1', 2)
  shared.state = 'down'
  t.equal((await store.take('u1', 10, 2)).remaining, 1, 'from memory, which saw the message')
  t.equal(store.mode, 'memory')
  const calls = shared.calls
  t.equal((await store.take('u1', 10, 2)).allowed, true)
  t.equal((await store.take('u1', 10, 2)).allowed, false, 'the per-instance bucket limits now')
  t.equal((await store.hit('k', 1000)).count, 1)
  t.equal(await store.acquire('u1', 'c2', 2), true)
  t.equal(await store.acquire('u1', 'c3', 2), false, 'the slot taken under Redis still counts in memory')
  t.equal(shared.calls, calls, 'nothing waits on the failing store')
  t.equal(warnings.length, 1)
  t.match(warnings[0]!.msg, /fall back to per-instance memory/)
  t.match(warnings[0]!.obj, { err: { message: 'connection refused' } })
})

t.test('a hanging shared store: the call is answered from memory after timeoutMs', async (t) => {
  const { shared, store, warnings } = setup(t, { timeoutMs: 30, probeIntervalMs: 60_000 })
  shared.state = 'hang'
  const started = Date.now()
  t.equal((await store.hit('k', 1000)).count, 1)
  t.ok(Date.now() - started < 500, 'bounded by the timeout')
  t.equal(store.mode, 'memory')
  t.type(warnings[0]!.obj, Object)
  t.ok((warnings[0]!.obj as { err: unknown }).err instanceof LimiterTimeoutError)
  shared.resume()
})

t.test('an acquire that succeeds after its timeout is released from the shared store', async (t) => {
  const { shared, store } = setup(t, { timeoutMs: 20, probeIntervalMs: 60_000 })
  shared.state = 'hang'
  t.equal(await store.acquire('u1', 'c1', 1), true, 'admitted in memory')
  shared.state = 'up'
  shared.resume()
  await until(() => shared.released.includes('c1'))
  t.equal(await shared.acquire('u1', 'x', 1), true, 'the late slot is gone')
})

t.test('an acquire refused after its timeout needs no release', async (t) => {
  const { shared, store } = setup(t, { timeoutMs: 20, probeIntervalMs: 60_000 })
  await shared.acquire('u1', 'elsewhere', 1)
  shared.state = 'hang'
  t.equal(await store.acquire('u1', 'c1', 1), true, 'memory has a slot')
  shared.state = 'up'
  shared.resume()
  await new Promise((resolve) => setImmediate(resolve))
  t.same(shared.released, [])
})

t.test('recovery: the probe switches back once, and slots admitted in memory are adopted', async (t) => {
  const { shared, store, infos, warnings } = setup(t)
  shared.state = 'down'
  t.equal(await store.acquire('u1', 'c1', 5), true)
  t.equal(store.mode, 'memory')
  await new Promise((resolve) => setTimeout(resolve, 40))
  t.equal(store.mode, 'memory', 'probes fail while it is down')
  shared.state = 'up'
  await until(() => store.mode === 'redis')
  t.same(infos, ['matchcast: rate limits are shared through Redis again'])
  await until(() => shared.calls > 0 && infos.length === 1)
  t.equal(await shared.acquire('u1', 'other', 1), false, 'c1 now counts in the shared store')
  await store.release('u1', 'c1')
  t.same(shared.released, ['c1'], 'and is released there')
  t.equal(warnings.length, 1)
})

t.test('probes do not overlap while one is pending', async (t) => {
  const { shared, store } = setup(t, { timeoutMs: 100, probeIntervalMs: 5 })
  shared.state = 'down'
  await store.take('u1', 1, 1)
  shared.state = 'hang'
  const calls = shared.calls
  await new Promise((resolve) => setTimeout(resolve, 60))
  t.equal(shared.calls, calls + 1, 'one probe in flight, ticks skipped meanwhile')
  shared.state = 'up'
  shared.resume()
  await until(() => store.mode === 'redis')
})

t.test('closing while a probe is pending: no switch after close', async (t) => {
  const { shared, store, infos } = setup(t, { timeoutMs: 1000, probeIntervalMs: 5 })
  shared.state = 'down'
  await store.take('u1', 1, 1)
  shared.state = 'hang'
  await until(() => shared.calls >= 2)
  await store.close()
  shared.state = 'up'
  shared.resume()
  await new Promise((resolve) => setTimeout(resolve, 20))
  t.equal(store.mode, 'memory')
  t.same(infos, [])
})

t.test('after close, a failure starts no probe and logs nothing', async (t) => {
  const { shared, store, warnings } = setup(t)
  await store.close()
  shared.state = 'down'
  t.equal((await store.take('u1', 1, 1)).allowed, true)
  t.equal(store.mode, 'redis')
  t.same(warnings, [])
})

t.test('release: shared slots there, memory-only slots not; a failing release switches to memory', async (t) => {
  const { shared, store } = setup(t, { probeIntervalMs: 60_000 })
  await store.acquire('u1', 'c1', 5)
  await store.acquire('u1', 'c2', 5)
  await store.release('u1', 'c1')
  await store.release('u1', 'unknown')
  t.same(shared.released, ['c1'])
  shared.state = 'down'
  await store.release('u1', 'c2')
  t.equal(store.mode, 'memory')
  await store.acquire('u1', 'c3', 5)
  await store.release('u1', 'c3')
  t.same(shared.released, ['c1'], 'a slot admitted in memory is not released in Redis')
})

t.test('adopt: in both stores while shared; memory only while not; a failing adopt switches', async (t) => {
  const { shared, memory, store } = setup(t, { probeIntervalMs: 60_000 })
  await store.adopt('u1', 'c1')
  t.equal(await shared.acquire('u1', 'x', 1), false)
  t.equal(await memory.acquire('u1', 'x', 1), false)
  shared.state = 'down'
  await store.adopt('u2', 'c2')
  t.equal(store.mode, 'memory')
  await store.adopt('u3', 'c3')
  t.equal(await memory.acquire('u3', 'x', 1), false)
})

t.test('a slot released while its adoption is in flight is released from the shared store too', async (t) => {
  const { shared, store } = setup(t, { timeoutMs: 1000, probeIntervalMs: 5 })
  shared.state = 'down'
  await store.acquire('u1', 'c1', 5)
  shared.state = 'up'
  shared.adoptState = 'hang'
  await until(() => store.mode === 'redis')
  await store.release('u1', 'c1') // recovery is adopting c1 right now
  shared.adoptState = undefined
  shared.resume()
  await until(() => shared.released.includes('c1'))
  t.equal(await shared.acquire('u1', 'x', 1), true, 'no slot left behind')
})

t.test('an adoption that fails or times out is undone in the shared store', async (t) => {
  const { shared, store } = setup(t, { timeoutMs: 20, probeIntervalMs: 60_000 })
  shared.adoptState = 'hang'
  await store.adopt('u1', 'c1')
  t.equal(store.mode, 'memory')
  shared.adoptState = undefined
  shared.resume()
  await until(() => shared.released.includes('c1'))
  t.equal(await shared.acquire('u1', 'x', 1), true)
})
