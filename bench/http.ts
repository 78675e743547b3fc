/**
 * HTTP side routes: p50/p95/p99 of finalize → `match_completed` on every socket of a 100-socket
 * room, payout approve/reject (fresh and replayed Idempotency-Key), certificate view, download and
 * verify, and the analytics summary of a 1,000-match tournament; on the memory store and on
 * PostgreSQL (`DATABASE_URL`, or the local server; skipped when it does not answer). HTTP calls go
 * through `app.inject` (no socket), the room through real `ws` clients over loopback.
 */
import { randomUUID } from 'node:crypto'
import Fastify, { type FastifyInstance } from 'fastify'
import pg from 'pg'
import WebSocket from 'ws'
import matchcast, { memoryStore, postgresStore, type Seed, type Store } from '../index.js'
import { pool, summarize, type Summary } from './util.js'

const SECRET = 'bench-secret-bench-secret-bench-secret'
const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
const SOCKETS = 100
const FINALIZES = 60
const BIG_MATCHES = 1000
const SUMMARIES = 40
const P95_LIMIT_MS = 500

const RECOMMENDATIONS: Record<string, string> = {
  finalizeToAllSockets: 'profile the completeMatch transaction and the room fan-out; batch the socket writes of one flush',
  approveFresh: 'check the payouts and idempotency_keys indexes and the pool size; keep the transaction short',
  approveReplay: 'replays are one primary-key read; check the idempotency_keys table for bloat (prune expired keys)',
  rejectFresh: 'check the payouts and idempotency_keys indexes and the pool size',
  rejectReplay: 'replays are one primary-key read; check the idempotency_keys table for bloat',
  certificateView: 'certificate reads are primary-key lookups; check pool saturation',
  certificateDownload: 'cache rendered PDFs by certificate id and revocation (they change only when revoked) or render them in a worker',
  certificateVerify: 'verify is an index lookup plus one Ed25519 check; check the code index and pool saturation',
  certificateVerifyPage: 'the short-code lookup uses the left(code, 10) index; the page itself is a string template',
  analyticsSummary1000: 'aggregate in SQL (GROUP BY state/status) instead of loading every match, or cache per tournament for a few seconds'
}

type Log = (line: string) => void

function seed (): Seed {
  const members: Seed['members'] = [{ tournamentId: 'live', userId: 'org', role: 'organizer' }, { tournamentId: 'big', userId: 'org', role: 'organizer' }]
  for (let i = 0; i < SOCKETS; i++) members.push({ tournamentId: 'live', userId: `fan${i}`, role: 'spectator' })
  for (let i = 0; i < 40; i++) members.push({ tournamentId: 'big', userId: `p${i}`, role: 'participant' })
  const states = ['scheduled', 'live', 'disputed', 'completed', 'cancelled'] as const
  const at = (minutes: number) => new Date(Date.UTC(2025, 0, 1, 10, minutes)).toISOString()
  return {
    tournaments: [{ id: 'live', name: 'Кубок Весны — Łódź Open 🏆' }, { id: 'big', name: 'Bench Big Cup' }],
    // Names in several scripts, so the certificates exercise font fallback as a real one would.
    users: [{ id: 'pa', name: 'Алиса Łódź' }, { id: 'pb', name: 'Bob Ἀνδρέας' }],
    members,
    matches: [
      ...Array.from({ length: FINALIZES }, (_, i) => ({
        id: `live-${i}`, tournamentId: 'live', participants: ['pa', 'pb'], state: 'live' as const, prize: { amount: 1000 + i, currency: 'USD' }
      })),
      ...Array.from({ length: BIG_MATCHES }, (_, i) => {
        const state = states[i % states.length]!
        return {
          id: `big-${String(i).padStart(4, '0')}`,
          tournamentId: 'big',
          participants: [`p${i % 40}`, `p${(i + 1) % 40}`],
          state,
          ...(state !== 'scheduled' && { startedAt: at(0) }),
          ...(state === 'completed' && { completedAt: at(10 + (i % 30)), winnerId: `p${i % 40}` })
        }
      })
    ]
  }
}

interface Room {
  sockets: WebSocket[]
  /** Resolves once every socket has received `match_completed` of `matchId`. */
  completed (matchId: string): Promise<void>
}

async function openRoom (app: FastifyInstance, url: string): Promise<Room> {
  const counts = new Map<string, number>()
  const waiters = new Map<string, () => void>()
  const seen = (matchId: string) => {
    const n = (counts.get(matchId) ?? 0) + 1
    counts.set(matchId, n)
    if (n === SOCKETS) waiters.get(matchId)?.()
  }
  const sockets: WebSocket[] = new Array(SOCKETS)
  await pool(Array.from({ length: SOCKETS }, (_, i) => i), 25, async (i) => {
    const ws = new WebSocket(`${url}/ws/tournaments/live`, { headers: { authorization: `Bearer ${app.jwt.sign({ sub: `fan${i}` }, { expiresIn: '1h' })}` }, perMessageDeflate: false })
    sockets[i] = ws
    await new Promise<void>((resolve, reject) => {
      ws.once('message', () => resolve())
      ws.once('error', reject)
    })
    ws.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as { type: string, matchId?: string, events?: Array<{ type: string, matchId: string }> }
      const events = frame.type === 'batch' ? frame.events! : [frame]
      for (const e of events) if (e.type === 'match_completed') seen(e.matchId!)
    })
  })
  return {
    sockets,
    completed: (matchId) => new Promise<void>((resolve) => {
      if (counts.get(matchId) === SOCKETS) return resolve()
      waiters.set(matchId, resolve)
    })
  }
}

async function time (fn: () => Promise<unknown>): Promise<number> {
  const started = performance.now()
  await fn()
  return performance.now() - started
}

async function expectOk (res: Promise<{ statusCode: number, body: string }>): Promise<void> {
  const r = await res
  if (r.statusCode !== 200) throw new Error(`unexpected ${r.statusCode}: ${r.body.slice(0, 200)}`)
}

/** Every scenario against one store; the app listens on loopback for the room's sockets. */
async function runScenarios (store: Store, log: Log): Promise<Record<string, Summary>> {
  const app = Fastify()
  await app.register(matchcast, {
    auth: { secret: SECRET },
    store,
    heartbeat: { intervalMs: 0 },
    // Latency, not limits: the side routes' per-IP limit (100 a minute) would refuse the later rows.
    rateLimit: { maxConnectionsPerUser: 10, http: { max: 100_000 } },
    http: { docs: false }
  })
  try {
    const address = await app.listen({ port: 0, host: '127.0.0.1' })
    const organizer = { authorization: `Bearer ${app.jwt.sign({ sub: 'org' }, { expiresIn: '1h' })}` }
    const room = await openRoom(app, address.replace(/^http/, 'ws'))
    const results: Record<string, Summary> = {}

    const finalize: number[] = []
    const payoutIds: string[] = []
    const certificates: Array<{ id: string, code: string, shortCode: string }> = []
    for (let i = 0; i < FINALIZES; i++) {
      const matchId = `live-${i}`
      const delivered = room.completed(matchId)
      finalize.push(await time(async () => {
        const res = await app.inject({ method: 'POST', url: `/matches/${matchId}/finalize`, headers: organizer, payload: { scores: { pa: 3, pb: i % 3 } } })
        if (res.statusCode !== 200) throw new Error(`finalize ${res.statusCode}: ${res.body}`)
        const body = res.json() as { payout: { id: string }, certificate: { id: string, code: string, shortCode: string } }
        payoutIds.push(body.payout.id)
        certificates.push(body.certificate)
        await delivered
      }))
    }
    results.finalizeToAllSockets = summarize(finalize)
    log(`    finalize → ${SOCKETS} sockets: p95 ${results.finalizeToAllSockets.p95} ms`)
    for (const ws of room.sockets) ws.terminate()

    const half = payoutIds.length / 2
    const payoutCall = (id: string, action: 'approve' | 'reject', key: string) => app.inject({
      method: 'POST',
      url: `/payouts/${id}/${action}`,
      headers: { ...organizer, 'idempotency-key': key },
      ...(action === 'reject' && { payload: { reason: 'bench' } })
    })
    for (const [action, ids] of [['approve', payoutIds.slice(0, half)], ['reject', payoutIds.slice(half)]] as const) {
      const fresh: number[] = []
      const replay: number[] = []
      for (const id of ids) fresh.push(await time(() => expectOk(payoutCall(id, action, `k-${id}`))))
      for (const id of ids) replay.push(await time(() => expectOk(payoutCall(id, action, `k-${id}`))))
      results[`${action}Fresh`] = summarize(fresh)
      results[`${action}Replay`] = summarize(replay)
    }

    const view: number[] = []
    const download: number[] = []
    const verify: number[] = []
    const verifyPage: number[] = []
    for (const c of certificates) {
      view.push(await time(() => expectOk(app.inject({ url: `/certificates/${c.id}`, headers: organizer }))))
      download.push(await time(() => expectOk(app.inject({ url: `/certificates/${c.id}/download`, headers: organizer }))))
      verify.push(await time(() => expectOk(app.inject({ url: `/certificates/verify/${c.code}` }))))
      verifyPage.push(await time(() => expectOk(app.inject({ url: `/certificates/verify/${c.shortCode}`, headers: { accept: 'text/html' } }))))
    }
    results.certificateView = summarize(view)
    results.certificateDownload = summarize(download)
    results.certificateVerify = summarize(verify)
    results.certificateVerifyPage = summarize(verifyPage)

    const summary: number[] = []
    for (let i = 0; i < SUMMARIES; i++) summary.push(await time(() => expectOk(app.inject({ url: '/tournaments/big/analytics/summary', headers: organizer }))))
    results.analyticsSummary1000 = summarize(summary)
    return results
  } finally {
    await app.close()
  }
}

/** The HTTP benchmark: `{ data, markdown }` (data: figures per store, and what is flagged). */
export async function benchHttp (log: Log = () => {}): Promise<Record<string, unknown> & { data: Record<string, unknown>, markdown: string[] }> {
  const data: Record<string, unknown> = { sockets: SOCKETS, finalizes: FINALIZES, analyticsMatches: BIG_MATCHES, transport: 'app.inject for HTTP, ws over loopback for the room' }
  const stores: Record<string, Record<string, Summary> | { skipped: string }> = {}

  log('  memory store …')
  stores.memory = await runScenarios(memoryStore(seed()), log)

  const schema = `mc_bench_${randomUUID().replaceAll('-', '').slice(0, 12)}`
  const admin = new pg.Pool({ connectionString: DATABASE_URL, max: 1, connectionTimeoutMillis: 2000 })
  try {
    await admin.query('SELECT 1')
    log('  PostgreSQL store …')
    const store = postgresStore({ connectionString: DATABASE_URL, schema, seed: seed() })
    try {
      await store.ready()
      stores.postgres = await runScenarios(store, log)
    } finally {
      await store.close()
      await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
    }
  } catch (err) {
    stores.postgres = { skipped: `PostgreSQL not reachable at DATABASE_URL: ${(err as Error).message}` }
  } finally {
    await admin.end()
  }
  data.stores = stores

  const flagged: string[] = []
  for (const [name, results] of Object.entries(stores)) {
    if ('skipped' in results) continue
    for (const [metric, s] of Object.entries(results)) {
      if (s.p95 > P95_LIMIT_MS) flagged.push(`${name} ${metric}: p95 ${s.p95} ms > ${P95_LIMIT_MS} ms: ${RECOMMENDATIONS[metric]}`)
    }
  }
  data.flagged = flagged

  const markdown = ['## HTTP side routes', '',
    `Finalize → \`match_completed\` on every socket of a ${SOCKETS}-socket room (${FINALIZES} finalizes); payouts approved/rejected with a fresh key, then replayed; ` +
    `certificate view/download (PDF)/verify (JSON by full code, page by short code); analytics of a ${BIG_MATCHES}-match tournament. HTTP via \`app.inject\`; anything with p95 over ${P95_LIMIT_MS} ms is flagged.`, '',
    '| store | scenario | n | p50 ms | p95 ms | p99 ms |', '|---|---|---|---|---|---|']
  for (const [name, results] of Object.entries(stores)) {
    if ('skipped' in results) {
      markdown.push(`| ${name} | skipped: ${results.skipped} | | | | |`)
      continue
    }
    for (const [metric, s] of Object.entries(results)) markdown.push(`| ${name} | ${metric} | ${s.n} | ${s.p50} | ${s.p95} | ${s.p99} |`)
  }
  markdown.push('', flagged.length === 0 ? `Nothing over ${P95_LIMIT_MS} ms at p95.` : `Flagged:\n${flagged.map((f) => `- ${f}`).join('\n')}`)
  return { data, markdown }
}
