/**
 * Idempotency keys survive a crash (real PostgreSQL, real processes): 400 concurrent approvals with
 * distinct `Idempotency-Key`s, the instance killed with SIGKILL after 100 responses, every key
 * retried at once on another instance. Every key then succeeds, once, and none is refused as in
 * flight for longer than its lease (`http.idempotencyLeaseMs`), where it used to be stuck for the
 * whole key TTL.
 */
import t from 'tap'
import type { Seed } from '../index.js'
import { token } from './helper.js'
import { DATABASE_URL, pgStore, sql } from './postgres.js'
import { startRedis, uniquePrefix } from './redis.js'
import { spawnInstance, type InstanceEnv } from './spawn.js'

const KEYS = 400
const KILL_AFTER = 100
const LEASE_MS = 3000

t.setTimeout(300_000)

const seed: Seed = {
  tournaments: [{ id: 't1', name: 'Crash Cup' }],
  members: [{ tournamentId: 't1', userId: 'u-org', role: 'organizer' }, { tournamentId: 't1', userId: 'u-a', role: 'participant' }, { tournamentId: 't1', userId: 'u-b', role: 'participant' }],
  matches: [{ id: 'm1', tournamentId: 't1', participants: ['u-a', 'u-b'], state: 'completed', winnerId: 'u-a' }]
}

interface Answer { status: number, replayed: boolean, body: unknown }

t.test(`${KEYS} concurrent approvals, the instance killed after ${KILL_AFTER} responses: every key succeeds once within its lease`, async (t) => {
  const redis = await startRedis(t)
  const store = await pgStore(t, seed)
  // The prize payouts of 400 finalized matches, pending.
  await sql(`INSERT INTO "${store.schema}".payouts (id, tournament_id, match_id, user_id, amount, currency, status, created_at, updated_at)
    SELECT 'p-' || i, 't1', 'm1', 'u-a', 100 + i, 'USD', 'pending', now(), now() FROM generate_series(0, ${KEYS - 1}) AS i`)
  const env: InstanceEnv = {
    DATABASE_URL,
    MATCHCAST_TEST_SCHEMA: store.schema,
    REDIS_URL: redis.url,
    MATCHCAST_KEY_PREFIX: uniquePrefix(),
    MATCHCAST_TEST_OPTIONS: JSON.stringify({ http: { docs: false, idempotencyLeaseMs: LEASE_MS }, rateLimit: { http: { max: 100_000 } } })
  }
  const headers = (i: number) => ({ authorization: `Bearer ${token('u-org')}`, 'idempotency-key': `key-${i}` })
  const approve = async (base: string, i: number): Promise<Answer> => {
    const res = await fetch(`${base}/payouts/p-${i}/approve`, { method: 'POST', headers: headers(i) })
    return { status: res.status, replayed: res.headers.get('idempotent-replayed') === 'true', body: await res.json() }
  }

  // Another instance already runs: retries reach it the moment the first one is gone.
  const [first, second] = await Promise.all([spawnInstance(t, env), spawnInstance(t, env)])
  const before = new Map<number, Answer>()
  let killedAt = 0
  const killed = new Promise<void>((resolve) => {
    for (let i = 0; i < KEYS; i++) {
      approve(first.httpUrl, i).then((answer) => {
        if (killedAt !== 0) return
        before.set(i, answer)
        if (before.size === KILL_AFTER) {
          killedAt = Date.now()
          first.child.kill('SIGKILL')
          resolve()
        }
      }, () => {})
    }
  })
  await killed
  t.equal(await first.exited, 'SIGKILL')
  t.ok([...before.values()].every((a) => a.status === 200), 'answered before the kill: 200')
  const inFlight = await sql(`SELECT count(*)::int AS n FROM "${store.schema}".idempotency_keys WHERE status_code IS NULL`)

  const succeeded = new Map<number, Answer>()
  let refusedInFlight = 0
  // When the last refused retry was sent, and when its answer came. A retry refused as in flight
  // was sent while the key's lease still held: its lease was claimed before the kill, so it was
  // sent within LEASE_MS of the kill. When its answer comes depends on how loaded the machine is
  // (400 retries at once): that is reported, not bounded.
  let lastRefusedSent = 0
  let lastRefusal = 0
  await Promise.all(Array.from({ length: KEYS }, async (_unused, i) => {
    for (;;) {
      const sent = Date.now()
      const answer = await approve(second.httpUrl, i)
      if (answer.status === 200) {
        succeeded.set(i, answer)
        return
      }
      t.equal(answer.status, 409, `key ${i}: only in flight, while its lease lasts`)
      refusedInFlight++
      lastRefusedSent = Math.max(lastRefusedSent, sent)
      lastRefusal = Date.now()
      if (lastRefusal - killedAt > 10 * LEASE_MS) throw new Error(`key ${i} is still in flight ${lastRefusal - killedAt} ms after the crash`)
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }))
  const stuckMs = lastRefusedSent === 0 ? 0 : lastRefusedSent - killedAt
  const answeredMs = lastRefusal === 0 ? 0 : lastRefusal - killedAt
  t.equal(succeeded.size, KEYS, 'every key succeeded')
  t.ok(stuckMs <= LEASE_MS + 1000, `no key refused longer than its lease after the crash (the last refused retry was sent ${stuckMs} ms after the kill)`)
  for (const [i, answer] of before) {
    t.same(succeeded.get(i)!.body, answer.body, `key ${i}: the stored response again`)
    t.ok(succeeded.get(i)!.replayed, `key ${i}: replayed`)
  }
  const { rows } = await sql(`SELECT status, count(*)::int AS n FROM "${store.schema}".payouts GROUP BY status`)
  t.same(rows, [{ status: 'approved', n: KEYS }], 'every payout approved')
  const stored = await sql(`SELECT count(*)::int AS n FROM "${store.schema}".idempotency_keys WHERE status_code = 200`)
  t.equal(stored.rows[0].n, KEYS, 'every key holds its response')
  t.comment(`idempotency crash: ${KEYS} keys, ${before.size} answered before the kill, ${String(inFlight.rows[0].n)} left in flight by it; ` +
    `retried at once on another instance: ${refusedInFlight} retries refused (409), the last sent ${stuckMs} ms and answered ${answeredMs} ms after the kill (lease ${LEASE_MS} ms), then all ${KEYS} succeeded`)
})
