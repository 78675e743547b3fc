/**
 * The limiter's added latency per message: a `ping` round trip over a real socket with the limiter
 * in memory, in Redis (a redis-server started here) without a lease (a round trip per message) and
 * with the default lease of the default burst, and off (the same path with `check` answering at
 * once), plus the bare `limiter.check()` call. Figures, not assertions; finishes in seconds.
 */
import Fastify, { type FastifyInstance } from 'fastify'
import matchcast, { memoryStore, type CheckResult } from '../index.js'
import { defaultLeaseSize, DEFAULT_BURST } from '../plugins/rate-limit/options.js'
import { Client, SECRET, testSeed, token } from '../test/helper.js'
import { startRedis } from './util.js'

const WARMUP = 300
const MESSAGES = 3000
/** High enough that no message of the bench is ever refused: the cost measured is the check's. */
const UNLIMITED = { messagesPerSecond: 1e9, burst: 1e9 }
/** The lease of the Redis modes: none (a round trip per message), and the default for the default burst (5). */
const LEASES = { redis: 1, 'redis-lease': defaultLeaseSize(DEFAULT_BURST) } as const

function percentiles (samples: number[]): { p50: number, p95: number, p99: number } {
  const sorted = [...samples].sort((a, b) => a - b)
  const at = (q: number) => Number(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!.toFixed(4))
  return { p50: at(0.5), p95: at(0.95), p99: at(0.99) }
}

async function app (redis?: string, leaseSize?: number): Promise<{ app: FastifyInstance, url: string }> {
  const instance = Fastify()
  await instance.register(matchcast, {
    auth: { secret: SECRET },
    store: memoryStore(testSeed()),
    heartbeat: { intervalMs: 0 },
    rateLimit: { ...UNLIMITED, ...(leaseSize !== undefined && { leaseSize }) },
    ...(redis !== undefined && { redis, keyPrefix: `bench-${process.pid}-${leaseSize}` })
  })
  await instance.listen({ port: 0, host: '127.0.0.1' })
  const { port } = instance.server.address() as { port: number }
  return { app: instance, url: `ws://127.0.0.1:${port}/ws/matches/m1` }
}

/** Sequential ping round trips on one socket, in ms. */
async function roundTrips (url: string): Promise<number[]> {
  const c = new Client(url, { headers: { authorization: `Bearer ${token('u-a')}` } })
  await c.next()
  const samples: number[] = []
  for (let i = 0; i < WARMUP + MESSAGES; i++) {
    const start = process.hrtime.bigint()
    await c.ping()
    if (i >= WARMUP) samples.push(Number(process.hrtime.bigint() - start) / 1e6)
  }
  await c.close()
  return samples
}

/** Bare `limiter.check()` calls, in ms. */
async function checks (instance: FastifyInstance): Promise<number[]> {
  const samples: number[] = []
  for (let i = 0; i < WARMUP + MESSAGES; i++) {
    const start = process.hrtime.bigint()
    await instance.matchcast.limiter.check('u-bench')
    if (i >= WARMUP) samples.push(Number(process.hrtime.bigint() - start) / 1e6)
  }
  return samples
}

const ms = (v: number) => v.toFixed(3)

/**
 * Returns `{ data, markdown }` (the shape `bench/run.ts` prints); `data` holds every figure, in ms.
 * Without a `redis-server` on the PATH the Redis figures are left out and said so.
 */
export async function benchLimiter (log: (line: string) => void = () => {}): Promise<Record<string, unknown>> {
  const cleanups: Array<() => unknown> = []
  try {
    const redis = await startRedis()
    if (redis !== undefined) cleanups.push(() => redis.stop())
    const off = await app(undefined)
    cleanups.push(() => off.app.close())
    // The same frame loop without the limiter's work: `check` answers at once.
    const allowed: CheckResult = { allowed: true, remaining: 1, resetMs: 0, key: 'u-a' }
    off.app.matchcast.limiter.check = async () => allowed
    const memory = await app(undefined)
    cleanups.push(() => memory.app.close())
    const shared: Array<[string, { app: FastifyInstance, url: string }]> = []
    for (const [mode, leaseSize] of redis === undefined ? [] : Object.entries(LEASES)) {
      const instance = await app(redis!.url, leaseSize)
      cleanups.push(() => instance.app.close())
      shared.push([mode, instance])
    }

    const rtt: Record<string, { p50: number, p95: number, p99: number }> = {
      off: percentiles(await roundTrips(off.url)),
      memory: percentiles(await roundTrips(memory.url))
    }
    const check: Record<string, { p50: number, p95: number, p99: number }> = { memory: percentiles(await checks(memory.app)) }
    for (const [mode, instance] of shared) {
      rtt[mode] = percentiles(await roundTrips(instance.url))
      check[mode] = percentiles(await checks(instance.app))
    }
    const modes = Object.keys(rtt).filter((m) => m !== 'off')
    const ratio = Object.fromEntries(modes.map((m) => [m, {
      p50: Number((rtt[m]!.p50 / rtt.off!.p50).toFixed(3)),
      p95: Number((rtt[m]!.p95 / rtt.off!.p95).toFixed(3)),
      p99: Number((rtt[m]!.p99 / rtt.off!.p99).toFixed(3))
    }]))
    for (const m of modes) log(`  limiter ${m}: ping round trip p50 ${ms(rtt[m]!.p50)} ms (${ratio[m]!.p50}× off), check p50 ${ms(check[m]!.p50)} ms`)
    const data = { messages: MESSAGES, unit: 'ms', leaseSize: LEASES, roundTrip: rtt, ratioToOff: ratio, check, ...(redis === undefined && { redis: 'skipped: no redis-server' }) }
    const markdown = [
      '## WebSocket rate limiter: added latency per message',
      '',
      `${MESSAGES} sequential \`ping\` round trips on one socket per mode (after ${WARMUP} warm-up), limits set so nothing is refused; "off" is the same path with the check answering at once. "redis" has no lease (\`leaseSize: 1\`, a Redis round trip per message); "redis-lease" has \`leaseSize: ${LEASES['redis-lease']}\` (the default for the default burst of ${DEFAULT_BURST}).`,
      '',
      '| mode | RTT p50 | RTT p95 | RTT p99 | × off (p50 / p95 / p99) | check() p50 | check() p99 |',
      '|---|---|---|---|---|---|---|',
      `| off | ${ms(rtt.off!.p50)} | ${ms(rtt.off!.p95)} | ${ms(rtt.off!.p99)} | 1 | — | — |`,
      ...modes.map((m) => `| ${m} | ${ms(rtt[m]!.p50)} | ${ms(rtt[m]!.p95)} | ${ms(rtt[m]!.p99)} | ${ratio[m]!.p50} / ${ratio[m]!.p95} / ${ratio[m]!.p99} | ${ms(check[m]!.p50)} | ${ms(check[m]!.p99)} |`),
      ...(redis === undefined ? ['', 'Redis figures skipped: no `redis-server` could be started.'] : [])
    ]
    return { data, markdown }
  } finally {
    for (const fn of cleanups.reverse()) await fn()
  }
}
