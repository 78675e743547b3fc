/**
 * Fan-out: events delivered per second and emit→receive latency for 1 match × 1,000 sockets and
 * 100 matches × 10 sockets, through matchcast (memory broker, and Redis when a redis-server can be
 * started) and through a bare `ws` broadcast loop on the same machine in the same run.
 */
import Fastify, { type FastifyInstance } from 'fastify'
import WebSocket, { WebSocketServer } from 'ws'
import matchcast, { memoryStore, type Seed } from '../index.js'
import { pool, startRedis, summarize, type Summary } from './util.js'

const SECRET = 'bench-secret-bench-secret-bench-secret'
const EVENTS = 200
const ROUNDS = 3

export interface FanoutResult {
  scenario: string
  transport: string
  sockets: number
  events: number
  deliveriesPerSecond: number
  latencyMs: Summary
}

interface Shape { name: string, matches: number, socketsPerMatch: number }
export const SHAPES: Shape[] = [
  { name: '1 match × 1000 sockets', matches: 1, socketsPerMatch: 1000 },
  { name: '100 matches × 10 sockets', matches: 100, socketsPerMatch: 10 }
]

function seedFor (shape: Shape): Seed {
  const members: Seed['members'] = [{ tournamentId: 't', userId: 'org', role: 'organizer' }]
  for (let i = 0; i < shape.matches * shape.socketsPerMatch; i++) members.push({ tournamentId: 't', userId: `u${i}`, role: 'spectator' })
  return {
    tournaments: [{ id: 't', name: 'Bench Cup' }],
    members,
    matches: Array.from({ length: shape.matches }, (_, i) => ({ id: `m${i}`, tournamentId: 't', participants: ['p1', 'p2'], state: 'live' as const }))
  }
}

/** Opens the sockets; each resolves after its first frame. Every received event is timed by `onEvent`. */
async function openClients (urls: string[], headers: (i: number) => Record<string, string>, onEvent: (seqOrIndex: number, matchIndex: number) => void): Promise<WebSocket[]> {
  const sockets: WebSocket[] = new Array(urls.length)
  await pool(urls.map((u, i) => [u, i] as const), 50, async ([url, i]) => {
    const ws = new WebSocket(url, { headers: headers(i), perMessageDeflate: false })
    sockets[i] = ws
    await new Promise<void>((resolve, reject) => {
      ws.once('message', () => resolve())
      ws.once('error', reject)
    })
    ws.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as { type: string, matchId?: string, data?: { scores: Record<string, number> }, events?: Array<{ data: { scores: Record<string, number> } }> }
      const list = frame.type === 'batch' ? frame.events! : [frame]
      for (const e of list) onEvent(e.data!.scores.p1!, Number(frame.matchId?.slice(1) ?? 0))
    })
  })
  return sockets
}

interface Run { start (): void, sentAt: Map<string, number>, latencies: number[], received: number }

/** Emits EVENTS per match (one per tick, all matches in the tick) and waits until every socket received every event. */
async function drive (shape: Shape, emit: (match: number, index: number) => void, run: Run): Promise<number> {
  const expected = EVENTS * shape.matches * shape.socketsPerMatch
  const started = performance.now()
  for (let i = 0; i < EVENTS; i++) {
    const now = performance.now()
    for (let m = 0; m < shape.matches; m++) {
      run.sentAt.set(`${m}:${i}`, now)
      emit(m, i)
    }
    // Yield so sends and receives interleave as they would under a live load.
    await new Promise((resolve) => setImmediate(resolve))
  }
  const deadline = Date.now() + 60_000
  while (run.received < expected && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5))
  const elapsed = (performance.now() - started) / 1000
  return run.received / elapsed
}

function newRun (): Run {
  const run: Run = {
    start () {},
    sentAt: new Map(),
    latencies: [],
    received: 0
  }
  return run
}

function onEvent (run: Run) {
  return (index: number, match: number) => {
    run.received++
    const sent = run.sentAt.get(`${match}:${index}`)
    if (sent !== undefined) run.latencies.push(performance.now() - sent)
  }
}

async function closeAll (sockets: WebSocket[]): Promise<void> {
  await Promise.all(sockets.map((ws) => new Promise<void>((resolve) => {
    if (ws.readyState === WebSocket.CLOSED) return resolve()
    ws.once('close', () => resolve())
    ws.terminate()
  })))
}

async function benchMatchcast (shape: Shape, redis?: string): Promise<FanoutResult> {
  const app: FastifyInstance = Fastify()
  await app.register(matchcast, {
    auth: { secret: SECRET },
    store: memoryStore(seedFor(shape)),
    ...(redis !== undefined && { redis }),
    batching: { windowMs: 0 },
    heartbeat: { intervalMs: 0 },
    // Every bench socket comes from 127.0.0.1: the per-IP limits would refuse most of them.
    rateLimit: { maxConnectionsPerUser: 10, upgradesPerIp: 0, maxConnectionsPerIp: 0 }
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as { port: number }
  const total = shape.matches * shape.socketsPerMatch
  const urls = Array.from({ length: total }, (_, i) => `ws://127.0.0.1:${port}/ws/matches/m${i % shape.matches}`)
  const tokens = Array.from({ length: total }, (_, i) => app.jwt.sign({ sub: `u${i}` }, { expiresIn: '1h' }))
  const run = newRun()
  const sockets = await openClients(urls, (i) => ({ authorization: `Bearer ${tokens[i]!}` }), onEvent(run))
  const rate = await drive(shape, (m, i) => app.matchcast.events.emit(`m${m}`, { type: 'result_reported', data: { by: 'p1', scores: { p1: i, p2: 0 } } }), run)
  await closeAll(sockets)
  await app.close()
  return { scenario: shape.name, transport: redis === undefined ? 'matchcast (memory)' : 'matchcast (Redis)', sockets: total, events: EVENTS * shape.matches, deliveriesPerSecond: Math.round(rate), latencyMs: summarize(run.latencies) }
}

async function benchBare (shape: Shape): Promise<FanoutResult> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: false })
  await new Promise((resolve) => wss.once('listening', resolve))
  const { port } = wss.address() as { port: number }
  const rooms = new Map<number, Set<WebSocket>>()
  let seq = 0
  wss.on('connection', (ws, req) => {
    const m = Number(new URL(req.url!, 'http://x').pathname.split('/m')[1])
    let room = rooms.get(m)
    if (room === undefined) rooms.set(m, room = new Set())
    room.add(ws)
    ws.send('{"type":"hello"}')
  })
  const total = shape.matches * shape.socketsPerMatch
  const urls = Array.from({ length: total }, (_, i) => `ws://127.0.0.1:${port}/m${i % shape.matches}`)
  const run = newRun()
  const sockets = await openClients(urls, () => ({}), onEvent(run))
  const rate = await drive(shape, (m, i) => {
    const frame = JSON.stringify({ type: 'result_reported', matchId: `m${m}`, seq: ++seq, ts: new Date().toISOString(), data: { by: 'p1', scores: { p1: i, p2: 0 } } })
    for (const ws of rooms.get(m)!) ws.send(frame)
  }, run)
  await closeAll(sockets)
  await new Promise((resolve) => wss.close(resolve))
  return { scenario: shape.name, transport: 'bare ws loop', sockets: total, events: EVENTS * shape.matches, deliveriesPerSecond: Math.round(rate), latencyMs: summarize(run.latencies) }
}

export async function benchFanout (log: (line: string) => void): Promise<{ results: FanoutResult[], ratios: Array<{ scenario: string, transport: string, throughputRatio: number, p50Ratio: number }> }> {
  const results: FanoutResult[] = []
  const redis = await startRedis()
  // One run of a scenario swings by ±20% on a small machine: each transport runs ROUNDS times,
  // interleaved with the others, and the run with the median throughput is reported.
  const median = (runs: FanoutResult[]) => [...runs].sort((a, b) => a.deliveriesPerSecond - b.deliveriesPerSecond)[Math.floor(runs.length / 2)]!
  try {
    for (const shape of SHAPES) {
      const runs: Record<string, FanoutResult[]> = { bare: [], memory: [], redis: [] }
      for (let round = 0; round < ROUNDS; round++) {
        runs.bare!.push(await benchBare(shape))
        runs.memory!.push(await benchMatchcast(shape))
        if (redis !== undefined) runs.redis!.push(await benchMatchcast(shape, redis.url))
      }
      for (const list of Object.values(runs)) {
        if (list.length === 0) continue
        const r = median(list)
        results.push(r)
        log(`  ${shape.name}: ${r.transport} ${r.deliveriesPerSecond}/s p50 ${r.latencyMs.p50} ms (median of ${list.length}: ${list.map((x) => x.deliveriesPerSecond).join(', ')})`)
      }
    }
  } finally {
    await redis?.stop()
  }
  const ratios = results.filter((r) => r.transport !== 'bare ws loop').map((r) => {
    const bare = results.find((b) => b.scenario === r.scenario && b.transport === 'bare ws loop')!
    return {
      scenario: r.scenario,
      transport: r.transport,
      // > 1 means matchcast is slower than the bare loop by that factor.
      throughputRatio: Math.round((bare.deliveriesPerSecond / r.deliveriesPerSecond) * 100) / 100,
      p50Ratio: Math.round((r.latencyMs.p50 / Math.max(0.01, bare.latencyMs.p50)) * 100) / 100
    }
  })
  return { results, ratios }
}
