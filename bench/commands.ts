/**
 * The command path on PostgreSQL with Redis, where the outbox costs: each change writes its event
 * in the change's own statement, and the relay marks it done once sequenced. Measured: WebSocket
 * command → ack latency and commands per second (one organizer, then 20 organizers on 20 matches
 * at once), command → its event on every socket of a 100-socket room, and HTTP finalize latency.
 * Batching window 0 ms, so the figures show the machinery rather than the window.
 */
import { randomUUID } from 'node:crypto'
import Fastify, { type FastifyInstance } from 'fastify'
import pg from 'pg'
import WebSocket from 'ws'
import matchcast, { postgresStore, type Seed } from '../index.js'
import { pool, startRedis, summarize, type Summary } from './util.js'

const SECRET = 'bench-secret-bench-secret-bench-secret'
const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
const SEQUENTIAL = 400
const ORGANIZERS = 20
const PER_ORGANIZER = 50
const ROOM = 100
const FANOUT_COMMANDS = 200
const FINALIZES = 60

type Log = (line: string) => void

function seed (): Seed {
  const members: Seed['members'] = [{ tournamentId: 't', userId: 'org', role: 'organizer' }]
  for (let i = 0; i < ROOM; i++) members.push({ tournamentId: 't', userId: `fan${i}`, role: 'spectator' })
  const match = (id: string) => ({ id, tournamentId: 't', participants: ['pa', 'pb'], state: 'live' as const, prize: { amount: 100, currency: 'USD' } })
  return {
    tournaments: [{ id: 't', name: 'Bench Command Cup' }],
    members,
    matches: [
      ...Array.from({ length: ORGANIZERS }, (_, i) => match(`c${i}`)),
      match('room'),
      ...Array.from({ length: FINALIZES }, (_, i) => match(`f${i}`))
    ]
  }
}

/** A socket whose frames are awaited one at a time. */
async function open (url: string, headers: Record<string, string>): Promise<{ ws: WebSocket, next: () => Promise<Record<string, unknown>> }> {
  const ws = new WebSocket(url, { headers, perMessageDeflate: false })
  const queue: Array<Record<string, unknown>> = []
  let wake: (() => void) | undefined
  ws.on('message', (data) => {
    queue.push(JSON.parse(data.toString()) as Record<string, unknown>)
    wake?.()
  })
  const next = async () => {
    while (queue.length === 0) await new Promise<void>((resolve) => { wake = resolve })
    return queue.shift()!
  }
  await next()
  return { ws, next }
}

/** Sends score updates one after another on `matchId`; returns each command → ack latency. */
async function acks (base: string, token: string, matchId: string, count: number): Promise<number[]> {
  const { ws, next } = await open(`${base}/ws/matches/${matchId}`, { authorization: `Bearer ${token}` })
  const latencies: number[] = []
  for (let i = 1; i <= count; i++) {
    const started = performance.now()
    ws.send(JSON.stringify({ type: 'score.update', id: i, scores: { pa: i } }))
    for (;;) {
      const frame = await next()
      if (frame.type === 'ack' && frame.id === i) break
      if (frame.type === 'error') throw new Error(`command failed: ${JSON.stringify(frame)}`)
    }
    latencies.push(performance.now() - started)
  }
  ws.terminate()
  return latencies
}

async function scenarios (app: FastifyInstance, base: string, log: Log): Promise<Record<string, Summary & { perSecond?: number }>> {
  const org = app.jwt.sign({ sub: 'org' }, { expiresIn: '1h' })
  const results: Record<string, Summary & { perSecond?: number }> = {}

  let started = performance.now()
  const sequential = await acks(base, org, 'c0', SEQUENTIAL)
  results.wsAckOneOrganizer = { ...summarize(sequential), perSecond: Math.round(SEQUENTIAL / ((performance.now() - started) / 1000)) }
  log(`    ws ack, 1 organizer: p50 ${results.wsAckOneOrganizer.p50} ms, ${results.wsAckOneOrganizer.perSecond}/s`)

  started = performance.now()
  const parallel = (await Promise.all(Array.from({ length: ORGANIZERS }, (_, i) => acks(base, org, `c${i}`, PER_ORGANIZER)))).flat()
  results.wsAck20Organizers = { ...summarize(parallel), perSecond: Math.round(parallel.length / ((performance.now() - started) / 1000)) }
  log(`    ws ack, ${ORGANIZERS} organizers: p50 ${results.wsAck20Organizers.p50} ms, ${results.wsAck20Organizers.perSecond}/s`)

  // Command → its event on every socket of a room.
  let waiting: { value: number, left: number, done: () => void } | undefined
  const sockets: WebSocket[] = []
  await pool(Array.from({ length: ROOM }, (_, i) => i), 25, async (i) => {
    const { ws } = await open(`${base}/ws/matches/room`, { authorization: `Bearer ${app.jwt.sign({ sub: `fan${i}` }, { expiresIn: '1h' })}` })
    sockets.push(ws)
    ws.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as { type: string, data?: { scores: { pa: number } }, events?: Array<{ data: { scores: { pa: number } } }> }
      for (const e of frame.type === 'batch' ? frame.events! : [frame]) {
        if (waiting !== undefined && e.data?.scores.pa === waiting.value && --waiting.left === 0) waiting.done()
      }
    })
  })
  const { ws: organizer } = await open(`${base}/ws/matches/room`, { authorization: `Bearer ${org}` })
  const everySocket: number[] = []
  for (let value = 1; value <= FANOUT_COMMANDS; value++) {
    const t0 = performance.now()
    await new Promise<void>((resolve) => {
      waiting = { value, left: ROOM, done: resolve }
      organizer.send(JSON.stringify({ type: 'score.update', scores: { pa: value } }))
    })
    everySocket.push(performance.now() - t0)
  }
  results.commandToEverySocket = summarize(everySocket)
  log(`    command → ${ROOM} sockets: p50 ${results.commandToEverySocket.p50} ms`)
  for (const ws of [...sockets, organizer]) ws.terminate()

  const finalize: number[] = []
  for (let i = 0; i < FINALIZES; i++) {
    const t0 = performance.now()
    const res = await app.inject({ method: 'POST', url: `/matches/f${i}/finalize`, headers: { authorization: `Bearer ${org}` }, payload: { scores: { pa: 3, pb: 1 } } })
    if (res.statusCode !== 200) throw new Error(`finalize ${res.statusCode}: ${res.body}`)
    finalize.push(performance.now() - t0)
  }
  results.httpFinalize = summarize(finalize)
  return results
}

/** The command-path benchmark: `{ data, markdown }`; skipped when PostgreSQL does not answer. */
export async function benchCommands (log: Log = () => {}): Promise<{ data: Record<string, unknown>, markdown: string[] }> {
  const schema = `mc_bench_${randomUUID().replaceAll('-', '').slice(0, 12)}`
  const admin = new pg.Pool({ connectionString: DATABASE_URL, max: 1, connectionTimeoutMillis: 2000 })
  const redis = await startRedis()
  const data: Record<string, unknown> = { store: 'postgres', broker: redis === undefined ? 'memory' : 'redis', batchWindowMs: 0 }
  try {
    await admin.query('SELECT 1')
    const store = postgresStore({ connectionString: DATABASE_URL, schema, seed: seed() })
    const app = Fastify()
    try {
      await app.register(matchcast, {
        auth: { secret: SECRET },
        store,
        ...(redis !== undefined && { redis: redis.url }),
        batching: { windowMs: 0 },
        heartbeat: { intervalMs: 0 },
        rateLimit: { maxConnectionsPerUser: 1000, messagesPerSecond: 100_000, burst: 100_000, http: { max: 100_000 } },
        http: { docs: false }
      })
      const address = await app.listen({ port: 0, host: '127.0.0.1' })
      data.results = await scenarios(app, address.replace(/^http/, 'ws'), log)
    } finally {
      await app.close()
      await store.close()
      await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
    }
  } catch (err) {
    data.skipped = `PostgreSQL not reachable at DATABASE_URL: ${(err as Error).message}`
  } finally {
    await admin.end()
    await redis?.stop()
  }
  const markdown = ['## Command path on PostgreSQL (the outbox\'s cost)', '',
    `PostgreSQL store, ${String(data.broker)} broker, batching window 0 ms. WebSocket command → ack (${SEQUENTIAL} from one organizer; ` +
    `${ORGANIZERS} organizers × ${PER_ORGANIZER} on their own matches at once), command → event on every socket of a ${ROOM}-socket room ` +
    `(${FANOUT_COMMANDS} commands), HTTP finalize (${FINALIZES}, \`app.inject\`).`, '',
    '| scenario | n | p50 ms | p95 ms | p99 ms | commands/s |', '|---|---|---|---|---|---|']
  if (data.skipped !== undefined) markdown.push(`| skipped: ${String(data.skipped)} | | | | | |`)
  for (const [name, s] of Object.entries((data.results ?? {}) as Record<string, Summary & { perSecond?: number }>)) {
    markdown.push(`| ${name} | ${s.n} | ${s.p50} | ${s.p95} | ${s.p99} | ${s.perSecond ?? ''} |`)
  }
  return { data, markdown }
}
