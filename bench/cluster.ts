/**
 * Scale-out: fan-out over two matchcast instances on one Redis versus on a 3-primary Redis Cluster
 * (sharded pub/sub). Per run: deliveries per second, emit→receive latency, the Redis CPU each
 * primary spent (`INFO cpu`, to show the load spreads), and the pub/sub messages each instance
 * received that it did not need (its own echoes, and matches it does not watch).
 */
import Fastify, { type FastifyInstance } from 'fastify'
import { Redis } from 'ioredis'
import WebSocket from 'ws'
import matchcast, { memoryStore, type Seed } from '../index.js'
import { startCluster } from '../test/redis-cluster.js'
import { pool, startRedis, summarize, type Summary } from './util.js'

const SECRET = 'bench-secret-bench-secret-bench-secret'

interface Shape { name: string, matches: number, socketsPerMatch: number, events: number }
const SHAPES: Shape[] = [
  { name: '100 matches × 10 sockets', matches: 100, socketsPerMatch: 10, events: 40 },
  { name: '1000 matches × 2 sockets', matches: 1000, socketsPerMatch: 2, events: 8 }
]

export interface ClusterRun {
  scenario: string
  backend: string
  deliveriesPerSecond: number
  latencyMs: Summary
  /** Redis CPU seconds (user + sys) each primary spent during the run, by port. */
  cpuByPrimary: Record<string, number>
  /** Per instance: pub/sub messages received, its own echoes, messages of matches it does not watch. */
  messages: Array<{ received: number, own: number, unwatched: number }>
}

function seedFor (shape: Shape): Seed {
  const members: Seed['members'] = []
  for (let i = 0; i < shape.matches * shape.socketsPerMatch; i++) members.push({ tournamentId: 't', userId: `u${i}`, role: 'spectator' })
  return {
    tournaments: [{ id: 't', name: 'Bench Cup' }],
    members,
    matches: Array.from({ length: shape.matches }, (_, i) => ({ id: `m${i}`, tournamentId: 't', participants: ['p1', 'p2'], state: 'live' as const }))
  }
}

async function cpu (ports: number[]): Promise<Record<string, number>> {
  const out: Record<string, number> = {}
  await Promise.all(ports.map(async (port) => {
    const conn = new Redis({ port, host: '127.0.0.1' })
    const info = await conn.info('cpu')
    conn.disconnect()
    const field = (name: string) => Number(new RegExp(`${name}:([\\d.]+)`).exec(info)?.[1] ?? 0)
    out[port] = field('used_cpu_user') + field('used_cpu_sys')
  }))
  return out
}

async function run (shape: Shape, backend: string, redis: string | { cluster: Array<{ host: string, port: number }> }, primaries: number[]): Promise<ClusterRun> {
  const store = memoryStore(seedFor(shape))
  const keyPrefix = `bench-${Math.random().toString(36).slice(2, 8)}`
  const apps: FastifyInstance[] = []
  const ports: number[] = []
  for (let i = 0; i < 2; i++) {
    const app = Fastify()
    await app.register(matchcast, {
      auth: { secret: SECRET },
      store,
      redis,
      keyPrefix,
      batching: { windowMs: 0 },
      heartbeat: { intervalMs: 0 },
      rateLimit: { maxConnectionsPerUser: 10, upgradesPerIp: 0 }
    })
    await app.listen({ port: 0, host: '127.0.0.1' })
    apps.push(app)
    ports.push((app.server.address() as { port: number }).port)
  }
  const total = shape.matches * shape.socketsPerMatch
  const sentAt = new Map<string, number>()
  const latencies: number[] = []
  const count = { received: 0 }
  const sockets: WebSocket[] = new Array(total)
  // Socket i watches match i % matches on instance i % 2: every match is watched on both instances.
  await pool(Array.from({ length: total }, (_, i) => i), 50, async (i) => {
    const ws = new WebSocket(`ws://127.0.0.1:${ports[i % 2]!}/ws/matches/m${i % shape.matches}`,
      { headers: { authorization: `Bearer ${apps[0]!.jwt.sign({ sub: `u${i}` }, { expiresIn: '1h' })}` }, perMessageDeflate: false })
    sockets[i] = ws
    await new Promise<void>((resolve, reject) => { ws.once('message', () => resolve()); ws.once('error', reject) })
    ws.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as { type: string, matchId: string, data?: { scores: { p1: number } }, events?: Array<{ data: { scores: { p1: number } } }> }
      for (const e of frame.type === 'batch' ? frame.events! : [frame]) {
        count.received++
        const sent = sentAt.get(`${frame.matchId}:${e.data!.scores.p1}`)
        if (sent !== undefined) latencies.push(performance.now() - sent)
      }
    })
  })
  const before = await cpu(primaries)
  const started = performance.now()
  // Instance A emits; half of every match's sockets are on B, which hears it over pub/sub.
  for (let i = 0; i < shape.events; i++) {
    const now = performance.now()
    for (let m = 0; m < shape.matches; m++) {
      sentAt.set(`m${m}:${i}`, now)
      apps[0]!.matchcast.events.emit(`m${m}`, { type: 'result_reported', data: { by: 'p1', scores: { p1: i, p2: 0 } } })
    }
    await new Promise((resolve) => setImmediate(resolve))
  }
  const expected = shape.events * total
  const deadline = Date.now() + 60_000
  while (count.received < expected && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5))
  const elapsed = (performance.now() - started) / 1000
  const after = await cpu(primaries)
  const messages = apps.map((app) => app.matchcast.events.health()!.messages)
  await Promise.all(sockets.map((ws) => new Promise<void>((resolve) => { ws.once('close', () => resolve()); ws.terminate() })))
  for (const app of apps) await app.close()
  return {
    scenario: shape.name,
    backend,
    deliveriesPerSecond: Math.round(count.received / elapsed),
    latencyMs: summarize(latencies),
    cpuByPrimary: Object.fromEntries(primaries.map((p) => [p, Math.round((after[p]! - before[p]!) * 1000) / 1000])),
    messages
  }
}

export async function benchCluster (log: (line: string) => void): Promise<{ data: unknown, markdown: string[] }> {
  const teardowns: Array<() => unknown> = []
  const results: ClusterRun[] = []
  try {
    const single = await startRedis()
    if (single === undefined) throw new Error('no redis-server')
    teardowns.push(() => single.stop())
    const cluster = await startCluster({ teardown: (fn) => teardowns.push(fn) })
    const slots = await cluster.command(cluster.nodes[0]!.port, 'CLUSTER', 'SLOTS') as Array<[number, number, [string, number]]>
    const primaries = [...new Set(slots.map(([, , [, port]]) => port))].sort((a, b) => a - b)
    for (const shape of SHAPES) {
      for (const [backend, redis, ports] of [
        ['one Redis (PUBLISH)', single.url, [Number(new URL(single.url).port)]],
        ['3-primary cluster (SPUBLISH)', { cluster: cluster.startupNodes }, primaries]
      ] as const) {
        const r = await run(shape, backend, redis, [...ports])
        results.push(r)
        log(`  ${r.scenario}, ${r.backend}: ${r.deliveriesPerSecond}/s p50 ${r.latencyMs.p50} ms p99 ${r.latencyMs.p99} ms; Redis CPU s ${JSON.stringify(r.cpuByPrimary)}; not needed per instance ${r.messages.map((m) => `${m.own} own + ${m.unwatched} unwatched of ${m.received}`).join(', ')}`)
      }
    }
  } finally {
    for (const fn of teardowns.reverse()) await fn()
  }
  const markdown = [
    '## Scale-out: two instances on one Redis vs a 3-primary Redis Cluster',
    '',
    'Instance A emits (batching window 0 ms), every match has sockets on A and on B. Redis CPU is `used_cpu_user + used_cpu_sys` spent by each primary during the run. "Not needed" are pub/sub messages an instance received but had no use for: its own echoes (already delivered from the script\'s reply) and messages of matches it does not watch (with sharded channels a node only hears the channels it subscribed to, on the shard that owns them).',
    '',
    '| scenario | backend | deliveries/s | p50 ms | p99 ms | Redis CPU s per primary | not needed, A / B (own + unwatched of received) |',
    '|---|---|---|---|---|---|---|',
    ...results.map((r) => `| ${r.scenario} | ${r.backend} | ${r.deliveriesPerSecond} | ${r.latencyMs.p50} | ${r.latencyMs.p99} | ${Object.values(r.cpuByPrimary).join(' / ')} | ${r.messages.map((m) => `${m.own} + ${m.unwatched} of ${m.received}`).join(' / ')} |`)
  ]
  return { data: results, markdown }
}
