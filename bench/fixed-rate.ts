/**
 * Fixed-rate fan-out: the server under test in its own process (the matchcast demo server on the
 * memory store; two of them on one Redis; and bench/bare-server.ts, a bare `ws` broadcast), the
 * load generator in another (bench/load.ts), batching window 0. Each match gets RATE score
 * updates a second; server CPU is read from /proc/<pid>/stat over the measured window; latency
 * runs from send to receipt on the generator's one clock. The runs are interleaved (bare,
 * memory, Redis, then again) for ROUNDS rounds and each figure is the median of its rounds; then
 * the rate is stepped up once per server and workload to find the most it sustains.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { render, type FixedRateData, type FixedSummary, type ModelSummary, type RampSummary } from './fixed-rate-report.js'
import type { StepResult } from './load-protocol.js'
import { matchcastEnv, startChild, startDemo, startGenerator, WORKLOADS, writeSeed, type Child, type Generator } from './processes.js'
import { rssBytes, startRedis } from './util.js'

/** Score updates per second per match. */
export const RATE = 20
const ROUNDS = 3
const FIXED = { warmupMs: 300, windowMs: 1500, drainMs: 2000 }
/** The rate steps of the search for the most a server sustains: RATE times these, stopping at the first that fails. */
const RAMP_FACTORS = [2, 3.2, 5.1, 8.2, 13.1]
const RAMP = { warmupMs: 150, windowMs: 800, drainMs: 1000 }
const BISECTIONS = 2
const P99_LIMIT_MS = 100

type Log = (line: string) => void

interface Variant { name: string, servers: Child[], extraPids: number[], generator?: Generator, rssStartMb: number, rssEndMb?: number }
interface Run { variant: string, workload: string, round: number, step: StepResult, serverCpuMs: number, redisCpuMs: number }

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}
const round2 = (v: number) => Math.round(v * 100) / 100
/** Server CPU µs per event frame the servers sent in the same window, by their own count. */
const perDelivery = (run: Run, cpuMs = run.serverCpuMs) => (cpuMs * 1000) / Math.max(1, run.step.serverDeliveries)
/** The 1-minute load average: the machine is shared, and what else runs shows in the latencies. */
const loadAverage = () => Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0])
const mb = (pids: number[]) => Math.round(pids.reduce((sum, pid) => sum + rssBytes(pid), 0) / 1024 / 102.4) / 10

function account (variant: Variant, workload: string, round: number, step: StepResult): Run {
  const servers = variant.servers.length
  const serverCpuMs = step.cpuMs.slice(0, servers).reduce((a, b) => a + b, 0)
  const redisCpuMs = step.cpuMs.slice(servers).reduce((a, b) => a + b, 0)
  return { variant: variant.name, workload, round, step, serverCpuMs, redisCpuMs }
}

/** Why a window did not keep up. */
export function why (step: StepResult): string {
  const reasons: string[] = []
  if (step.latencyMs.p99 > P99_LIMIT_MS) reasons.push(`p99 ${step.latencyMs.p99} ms`)
  for (const key of ['lost', 'unseen', 'gaps', 'resyncs', 'closed', 'errors'] as const) if (step[key] > 0) reasons.push(`${key} ${step[key]}`)
  return reasons.join(', ')
}

function summarizeFixed (runs: Run[], variants: Variant[]): FixedSummary[] {
  const out: FixedSummary[] = []
  for (const w of WORKLOADS) {
    let bareUs: number | undefined
    for (const v of variants) {
      const mine = runs.filter((r) => r.variant === v.name && r.workload === w.name)
      if (mine.length === 0) continue
      const us = median(mine.map((r) => perDelivery(r)))
      bareUs ??= us
      const sum = (key: 'lost' | 'gaps' | 'resyncs' | 'unseen' | 'closed' | 'errors') => mine.reduce((s, r) => s + r.step[key], 0)
      out.push({
        workload: w.name,
        server: v.name,
        commandsPerSecond: Math.round(median(mine.map((r) => r.step.commands / (r.step.windowMs / 1000)))),
        deliveriesPerSecond: Math.round(median(mine.map((r) => r.step.deliveriesPerSecond))),
        usPerDelivery: round2(us),
        usPerDeliveryRuns: mine.map((r) => round2(perDelivery(r))),
        ratioToBare: round2(us / bareUs),
        redisUsPerDelivery: v.extraPids.length === 0 ? undefined : round2(median(mine.map((r) => perDelivery(r, r.redisCpuMs)))),
        serverCpuPercent: Math.round(median(mine.map((r) => (r.serverCpuMs / r.step.windowMs) * 100))),
        generatorCpuPercent: Math.round(median(mine.map((r) => (r.step.generatorCpuMs / r.step.windowMs) * 100))),
        p50Ms: round2(median(mine.map((r) => r.step.latencyMs.p50))),
        p99Ms: round2(median(mine.map((r) => r.step.latencyMs.p99))),
        lost: sum('lost'),
        gaps: sum('gaps'),
        resyncs: sum('resyncs'),
        unseen: sum('unseen'),
        closed: sum('closed'),
        errors: sum('errors')
      })
    }
  }
  return out
}

/**
 * Per delivery and per command: each round's two workloads give two equations
 * cpu = deliveries × perDelivery + commands × perCommand over the CPU window (deliveries: event
 * frames the servers sent in it; commands: acks they sent in it), solved for both. The 1 × 1000 one is almost all
 * fan-out (1,001 deliveries per command); the 100 × 10 one has 11.
 */
function model (runs: Run[], variants: Variant[]): ModelSummary[] {
  const out: ModelSummary[] = []
  let bare: { d: number, c: number } | undefined
  for (const v of variants) {
    const solved: Array<{ d: number, c: number }> = []
    for (let round = 0; round < ROUNDS; round++) {
      const [a, b] = WORKLOADS.map((w) => runs.find((r) => r.variant === v.name && r.workload === w.name && r.round === round))
      if (a === undefined || b === undefined) continue
      const [dA, cA, tA, dB, cB, tB] = [a.step.serverDeliveries, a.step.serverAcks, a.serverCpuMs * 1000, b.step.serverDeliveries, b.step.serverAcks, b.serverCpuMs * 1000]
      const det = dA * cB - dB * cA
      if (det === 0) continue
      const d = (tA * cB - tB * cA) / det
      solved.push({ d, c: (tB - dB * d) / cB })
    }
    if (solved.length === 0) continue
    const m = { d: median(solved.map((s) => s.d)), c: median(solved.map((s) => s.c)) }
    bare ??= m
    out.push({
      server: v.name,
      usPerDelivery: round2(m.d),
      usPerCommand: round2(m.c),
      // A noisy round can leave the bare server's small command cost at or below 0: no ratio then.
      perDeliveryRatio: bare.d > 0 ? round2(m.d / bare.d) : undefined,
      perCommandRatio: bare.c > 0 ? round2(m.c / bare.c) : undefined,
      rounds: solved.map((s) => ({ usPerDelivery: round2(s.d), usPerCommand: round2(s.c) }))
    })
  }
  return out
}

function notHeld (v: Variant, workload: string, failed: number, rounds: number): RampSummary {
  return {
    workload,
    server: v.name,
    maxDeliveriesPerSecond: undefined,
    atRate: undefined,
    serverCpuPercent: undefined,
    generatorCpuPercent: undefined,
    failedAt: { rate: RATE, why: `the fixed-rate runs did not keep up in ${failed} of ${rounds} rounds` },
    steps: []
  }
}

/**
 * Steps the rate up from RATE until one fails twice in a row, then tries once between the last
 * that held and the first that failed.
 */
async function ramp (v: Variant, workload: string): Promise<RampSummary> {
  const request = { workload, ...RAMP, stopOnFail: true, retryFailed: true, p99LimitMs: P99_LIMIT_MS }
  const steps = await v.generator!.run({ ...request, rates: RAMP_FACTORS.map((f) => Math.round(RATE * f)) })
  const held = (rate: number) => steps.some((s) => s.rate === rate && s.ok)
  const failedRate = () => steps.map((s) => s.rate).filter((rate) => !held(rate)).sort((a, b) => a - b)[0]
  // Then the gap between the last rate that held and the first that failed is halved (geometric
  // mean) up to BISECTIONS times: the ratio to the bare server is read to some 6 %, not one step.
  for (let i = 0; i < BISECTIONS; i++) {
    const low = steps.filter((s) => s.ok).map((s) => s.rate).sort((a, b) => b - a)[0] ?? RATE
    const high = failedRate()
    if (high === undefined || high / low <= 1.12) break
    steps.push(...await v.generator!.run({ ...request, rates: [Math.round(Math.sqrt(low * high))], retryFailed: false }))
  }
  const best = steps.filter((s) => s.ok).sort((a, b) => b.deliveriesPerSecond - a.deliveriesPerSecond)[0]
  const firstFail = steps.filter((s) => s.rate === failedRate()).at(-1)
  return {
    workload,
    server: v.name,
    maxDeliveriesPerSecond: best?.deliveriesPerSecond,
    atRate: best?.rate,
    serverCpuPercent: best === undefined ? undefined : Math.round((best.cpuMs.slice(0, v.servers.length).reduce((a, b) => a + b, 0) / best.windowMs) * 100),
    generatorCpuPercent: best === undefined ? undefined : Math.round((best.generatorCpuMs / best.windowMs) * 100),
    failedAt: firstFail === undefined ? undefined : { rate: firstFail.rate, why: why(firstFail) },
    steps: steps.map((s) => ({ rate: s.rate, ok: s.ok, deliveriesPerSecond: s.deliveriesPerSecond, p99Ms: s.latencyMs.p99, why: why(s) }))
  }
}

interface Started { children: Child[], generators: Generator[] }

/** Starts a variant's servers, reads their memory, then opens its sockets; what starts is listed in `started` for the cleanup. */
async function startVariant (name: string, servers: Array<() => Promise<Child>>, extraPids: number[], started: Started): Promise<Variant> {
  const settled = await Promise.allSettled(servers.map((start) => start().then((child) => { started.children.push(child); return child })))
  const failed = settled.find((s) => s.status === 'rejected')
  if (failed !== undefined) throw failed.reason
  const children = settled.map((s) => (s as PromiseFulfilledResult<Child>).value)
  const variant: Variant = { name, servers: children, extraPids, rssStartMb: mb(children.map((c) => c.pid)) }
  const ports = children.map((c) => c.port)
  variant.generator = await startGenerator({ ports, commandPort: ports[0]!, workloads: WORKLOADS, pids: [...children.map((c) => c.pid), ...extraPids] })
  started.generators.push(variant.generator)
  return variant
}

export async function benchFixedRate (log: Log = () => {}): Promise<{ data: FixedRateData, markdown: string[] }> {
  const began = performance.now()
  const loadAtStart = loadAverage()
  const dir = mkdtempSync(join(tmpdir(), 'matchcast-fixed-rate-'))
  const seedPath = join(dir, 'seed.json')
  writeSeed(seedPath)
  const redis = await startRedis()
  const started: Started = { children: [], generators: [] }
  try {
    let t0 = performance.now()
    const prefix = `bench-fixed-rate-${process.pid}`
    const matchcastServer = (extra: Record<string, string> = {}) => () => startDemo(matchcastEnv(seedPath, extra))
    const redisEnv = redis === undefined ? {} : { REDIS_URL: redis.url, MATCHCAST_KEY_PREFIX: prefix }
    // Each variant opens its sockets as soon as its servers are up.
    const settled = await Promise.allSettled([
      startVariant('bare ws', [() => startChild('./bare-server.ts')], [], started),
      startVariant('matchcast (memory)', [matchcastServer()], [], started),
      ...(redis === undefined ? [] : [startVariant('matchcast (Redis, 2 instances)', [matchcastServer(redisEnv), matchcastServer(redisEnv)], [redis.pid], started)])
    ])
    for (const s of settled) if (s.status === 'rejected') throw s.reason
    const variants = settled.map((s) => (s as PromiseFulfilledResult<Variant>).value)
    log(`  servers up, ${variants.map((v) => v.generator!.sockets).join(' + ')} sockets open in ${Math.round(performance.now() - t0)} ms`)
    t0 = performance.now()
    const runs: Run[] = []
    for (let round = 0; round < ROUNDS; round++) {
      for (const v of variants) {
        for (const w of WORKLOADS) {
          const [step] = await v.generator!.run({ workload: w.name, rates: [RATE], ...FIXED, stopOnFail: false, retryFailed: false, p99LimitMs: P99_LIMIT_MS })
          const run = account(v, w.name, round, step!)
          runs.push(run)
          log(`  round ${round + 1}: ${w.name}, ${v.name}: ${round2(perDelivery(run))} µs/delivery, ` +
            `${step!.deliveriesPerSecond}/s, p99 ${step!.latencyMs.p99} ms${step!.ok ? '' : ` (${why(step!)})`}`)
        }
      }
    }
    log(`  ${ROUNDS} rounds in ${Math.round(performance.now() - t0)} ms`)
    t0 = performance.now()
    const ramps: RampSummary[] = []
    for (const w of WORKLOADS) {
      for (const v of variants) {
        const mine = runs.filter((r) => r.variant === v.name && r.workload === w.name)
        const held = mine.filter((r) => r.step.ok).length
        // A server that did not keep up at RATE in most rounds is not stepped up from it.
        const r = held * 2 > mine.length ? await ramp(v, w.name) : notHeld(v, w.name, mine.length - held, mine.length)
        ramps.push(r)
        log(`  max sustained, ${w.name}, ${v.name}: ${r.maxDeliveriesPerSecond ?? '—'} deliveries/s at ${r.atRate ?? '—'}/s per match` +
          `${r.failedAt === undefined ? '' : `; ${r.failedAt.rate}/s failed: ${r.failedAt.why}`}`)
      }
    }
    log(`  rate search in ${Math.round(performance.now() - t0)} ms`)
    for (const v of variants) v.rssEndMb = mb(v.servers.map((s) => s.pid))
    const bareRamps = new Map(ramps.filter((r) => r.server === 'bare ws').map((r) => [r.workload, r.maxDeliveriesPerSecond]))
    for (const r of ramps) {
      const bare = bareRamps.get(r.workload)
      if (bare !== undefined && r.maxDeliveriesPerSecond !== undefined) r.ratioToBare = round2(r.maxDeliveriesPerSecond / bare)
    }
    const data: FixedRateData = {
      rate: RATE,
      rounds: ROUNDS,
      fixed: { ...FIXED },
      ramp: { ...RAMP, factors: RAMP_FACTORS, bisections: BISECTIONS },
      p99LimitMs: P99_LIMIT_MS,
      batchWindowMs: 0,
      redis: redis !== undefined,
      summary: summarizeFixed(runs, variants),
      model: model(runs, variants),
      ramps,
      rss: variants.map((v) => ({ server: v.name, processes: v.servers.length, startMb: v.rssStartMb, endMb: v.rssEndMb! })),
      loadAverage: { start: loadAtStart, end: loadAverage() },
      seconds: 0
    }
    data.seconds = Math.round((performance.now() - began) / 1000)
    return { data, markdown: render(data) }
  } finally {
    await Promise.all(started.generators.map((g) => g.stop()))
    await Promise.all(started.children.map((c) => c.stop()))
    await redis?.stop()
    rmSync(dir, { recursive: true, force: true })
  }
}
