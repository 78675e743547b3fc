import Fastify from 'fastify'
import pg from 'pg'
import t from 'tap'
import { shortCodeOf } from '../../../plugins/certificates/codes.js'
import { createCertificates } from '../../../plugins/certificates/index.js'
import { createCertificateSigner } from '../../../plugins/certificates/signer.js'
import { MIGRATIONS } from '../../../plugins/store/postgres-schema.js'
import { postgresStore, DEFAULT_SCHEMA } from '../../../plugins/store/postgres-store.js'
import matchcastStore from '../../../plugins/store/index.js'
import { memoryStore } from '../../../plugins/store/memory-store.js'
import type { Store } from '../../../plugins/store/store.js'
import { testSeed } from '../../helper.js'
import { DATABASE_URL, dropAtTeardown, pgStore, sql, uniqueSchema } from '../../postgres.js'

const certificate = (id: string, code: string) => ({
  id, code, shortCode: shortCodeOf(code), tournamentId: 't1', tournamentName: 'Spring Cup', matchId: 'm1', userId: 'u-a', scores: { 'u-a': 1, 'u-b': 0 }, issuedAt: '2025-03-01T10:00:00.000Z'
})

t.test('options: exactly one of connectionString and pool; a safe schema name', async (t) => {
  t.throws(() => postgresStore({}), { code: 'MATCHCAST_ERR_INVALID_OPTS', message: /exactly one of connectionString and pool/ })
  const pool = new pg.Pool({ connectionString: DATABASE_URL })
  t.teardown(() => pool.end())
  t.throws(() => postgresStore({ connectionString: DATABASE_URL, pool }), { message: /exactly one/ })
  t.throws(() => postgresStore({ connectionString: DATABASE_URL, schema: 'x"; DROP TABLE y; --' }), { message: /database.schema/ })
  t.throws(() => postgresStore({ connectionString: DATABASE_URL, schema: '1abc' }), { message: /database.schema/ })
  t.equal(postgresStore({ pool }).schema, DEFAULT_SCHEMA)
})

t.test('migrations: applied once, recorded, safe to run again and concurrently', async (t) => {
  const schema = uniqueSchema()
  const stores = [0, 1, 2].map(() => postgresStore({ connectionString: DATABASE_URL, schema }))
  for (const s of stores) t.teardown(() => s.close())
  dropAtTeardown(t, schema)
  await Promise.all(stores.map((s) => s.ready()))
  const { rows } = await sql(`SELECT id, name FROM "${schema}".matchcast_migrations ORDER BY id`)
  t.same(rows, MIGRATIONS.map((m) => ({ id: m.id, name: m.name })))
  const again = postgresStore({ connectionString: DATABASE_URL, schema })
  t.teardown(() => again.close())
  await again.ready()
  await again.ready()
  t.equal((await sql(`SELECT count(*)::int AS n FROM "${schema}".matchcast_migrations`)).rows[0].n, MIGRATIONS.length)
})

t.test('migration 2 on a database of migration 1: certificates issued then keep verifying, by full and short code', async (t) => {
  const schema = uniqueSchema()
  dropAtTeardown(t, schema)
  await sql(`CREATE SCHEMA "${schema}"; CREATE TABLE "${schema}".matchcast_migrations (id integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now());` +
    `${MIGRATIONS[0]!.sql(`"${schema}"`)}; INSERT INTO "${schema}".matchcast_migrations (id, name) VALUES (1, 'initial')`)
  // A certificate as the first version issued it: no names, no issuer, signed in the first format.
  const certificates = createCertificates(createCertificateSigner())
  const fields = { id: 'c-old', tournamentId: 't1', tournamentName: 'Spring Cup', matchId: 'm1', userId: 'u-a', scores: { 'u-a': 3 }, issuedAt: '2025-03-01T10:00:00.000Z' }
  const code = certificates.signer.sign(fields)
  await sql(`INSERT INTO "${schema}".matches (id, tournament_id, state, participants, scores, winner_id) VALUES ('m1', 't1', 'completed', '["u-a","u-b"]', '{"u-a":3}', 'u-a')`)
  await sql(`INSERT INTO "${schema}".certificates (id, code, tournament_id, tournament_name, match_id, user_id, scores, issued_at)
    VALUES ($1, $2, 't1', 'Spring Cup', 'm1', 'u-a', '{"u-a":3}', $3)`, [fields.id, code, fields.issuedAt])
  const store = await pgStore(t, undefined, schema)
  const stored = (await store.getCertificateByShortCode(shortCodeOf(code)))!
  t.same(stored, { ...fields, code, shortCode: shortCodeOf(code) })
  t.equal(certificates.status(stored), 'valid', 'the first format still verifies')
  t.notOk('certificateId' in (await store.getMatch('m1'))!)
})

t.test('seed: loaded after the migrations; loading again keeps existing rows', async (t) => {
  const store = await pgStore(t, testSeed())
  t.equal((await store.listMatches('t1')).length, 3)
  await store.updateMatch('m1', 0, { state: 'live' })
  await store.loadSeed(testSeed())
  t.equal((await store.getMatch('m1'))!.state, 'live', 'the seed does not overwrite')
  await t.rejects(store.loadSeed({ matches: [{ id: 'm', tournamentId: 't', participants: ['only-one'] }] }), { code: 'MATCHCAST_ERR_INVALID_OPTS', message: /store seed\/matches\/0\/participants/ })
})

t.test('completeMatch is all or nothing: a failing insert rolls the match change back', async (t) => {
  const store = await pgStore(t, testSeed())
  await store.updateMatch('m1', 0, { state: 'live' })
  await store.completeMatch('m2', 0, { state: 'completed' }, certificate('c-1', 'code-1'))
  // The same certificate code again violates its unique constraint, after the match row was updated.
  await t.rejects(store.completeMatch('m1', 1, { state: 'completed', winnerId: 'u-a' }, certificate('c-2', 'code-1')), { code: '23505' })
  const m1 = (await store.getMatch('m1'))!
  t.equal(m1.state, 'live')
  t.equal(m1.version, 1)
  t.equal(await store.getCertificate('c-2'), undefined)
  t.ok(await store.completeMatch('m1', 1, { state: 'completed' }, certificate('c-3', 'code-3')), 'the pool is healthy afterwards')
})

t.test('completeMatch that fails after its write leaves no outbox entry either', async (t) => {
  const store = await pgStore(t, testSeed())
  await store.completeMatch('m2', 0, { state: 'completed' }, certificate('c-1', 'code-1'))
  const completed = { type: 'match_cancelled' as const, data: { state: 'cancelled' as const, reason: 'x' } }
  await t.rejects(store.completeMatch('m1', 0, { state: 'cancelled' }, certificate('c-2', 'code-1'), undefined, completed), { code: '23505' })
  t.same(await store.pendingEvents('m1', 0), [])
  t.equal((await store.getMatch('m1'))!.version, 0)
})

t.test('a pool passed in is used and left open', async (t) => {
  const schema = uniqueSchema()
  const pool = new pg.Pool({ connectionString: DATABASE_URL })
  t.teardown(() => pool.end())
  dropAtTeardown(t, schema)
  const store = postgresStore({ pool, schema, seed: testSeed() })
  await store.ready()
  t.equal((await store.getTournament('t1'))!.name, 'Spring Cup')
  await store.close()
  t.equal((await pool.query('SELECT 1 AS one')).rows[0].one, 1, 'still open')
})

t.test('the store\'s own pool is made by the first call: calls racing it share one, and close() ends it', async (t) => {
  const name = `mc_first_${uniqueSchema().slice(-8)}`
  const store = postgresStore({ connectionString: `${DATABASE_URL}?application_name=${name}`, schema: uniqueSchema() })
  const connections = async () => (await sql('SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1', [name])).rows[0].n as number
  t.equal(await connections(), 0, 'no connection before the first call')
  await Promise.all([store.ping(), store.ping(), store.ping()])
  t.ok(await connections() > 0)
  await store.close()
  // A backend leaves pg_stat_activity a moment after its client hung up.
  for (let i = 0; i < 200 && await connections() > 0; i++) await new Promise((resolve) => setTimeout(resolve, 10))
  t.equal(await connections(), 0, 'no second pool was left open')
})

t.test('a store closed before its first call refuses to be used, as an ended pool does', async (t) => {
  const closed = postgresStore({ connectionString: DATABASE_URL, schema: uniqueSchema() })
  await closed.close()
  await t.rejects(closed.ping(), { message: 'Cannot use a pool after calling end on the pool' })
  await t.rejects(closed.getMatch('m1'), { message: 'Cannot use a pool after calling end on the pool' })
  // close() while the first call waits for the driver: no pool is made after it.
  const racing = postgresStore({ connectionString: DATABASE_URL, schema: uniqueSchema() })
  const ping = racing.ping()
  await racing.close()
  await t.rejects(ping, { message: 'Cannot use a pool after calling end on the pool' })
})

t.test('a database that does not answer: ready rejects, and the next call tries again', async (t) => {
  const store = postgresStore({ connectionString: 'postgres://postgres@127.0.0.1:1/test', schema: uniqueSchema() })
  t.teardown(() => store.close())
  await t.rejects(store.ready(), { code: 'ECONNREFUSED' })
  await t.rejects(store.getMatch('m1'), { code: 'ECONNREFUSED' }, 'a later call retries the migrations')
  await t.rejects(store.loadSeed({}), { code: 'ECONNREFUSED' })
  await t.rejects(store.ping())
})

/** A pool whose transactions fail, and whose rollback fails too (a connection that broke mid-transaction). */
function brokenPool (): { pool: pg.Pool, released: unknown[] } {
  const released: unknown[] = []
  const client = {
    query: async (text: string) => {
      if (text === 'BEGIN') return { rows: [] }
      throw new Error(text === 'ROLLBACK' ? 'connection lost' : 'statement failed')
    },
    release: (err?: unknown) => { released.push(err) }
  }
  const pool = { connect: async () => client, query: async () => ({ rows: [] }), on: () => pool, end: async () => {} }
  return { pool: pool as unknown as pg.Pool, released }
}

t.test('a transaction whose rollback fails releases its connection as broken', async (t) => {
  const { pool, released } = brokenPool()
  const store = postgresStore({ pool, schema: uniqueSchema() })
  await t.rejects(store.ready(), { message: 'statement failed' })
  t.equal(released.length, 1)
  t.match(released[0], { message: 'connection lost' })
})

t.test('an idempotency record that vanishes between claim and read answers in_flight (the retry claims it)', async (t) => {
  const store = await pgStore(t)
  const lease = { owner: 'i', ms: 60_000 }
  await store.beginIdempotent('u', 'k', 'f', 60_000, lease)
  // Between the claim attempt and the read, the holder abandons the key.
  const query = pg.Pool.prototype.query
  let armed = true
  t.teardown(() => { pg.Pool.prototype.query = query })
  pg.Pool.prototype.query = async function (this: pg.Pool, ...args: unknown[]) {
    const text = String(args[0])
    if (armed && text.startsWith('SELECT fingerprint')) {
      armed = false
      await store.abandonIdempotent('u', 'k', 'i')
    }
    return (query as (...a: unknown[]) => Promise<unknown>).apply(this, args)
  } as typeof query
  t.same(await store.beginIdempotent('u', 'k', 'f', 60_000, lease), { state: 'in_flight' })
  t.same(await store.beginIdempotent('u', 'k', 'f', 60_000, lease), { state: 'started' })
})

t.test('errors of idle pooled connections go to onError (the umbrella logs them); without one they are ignored', async (t) => {
  const schema = uniqueSchema()
  const name = `mc_idle_${schema.slice(-8)}`
  const errors: Error[] = []
  const store = postgresStore({ connectionString: `${DATABASE_URL}?application_name=${name}`, schema, onError: (err) => errors.push(err) })
  const quiet = postgresStore({ connectionString: `${DATABASE_URL}?application_name=${name}q`, schema })
  t.teardown(() => store.close())
  t.teardown(() => quiet.close())
  dropAtTeardown(t, schema)
  await store.ready()
  await quiet.ready()
  await sql('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name IN ($1, $2)', [name, `${name}q`])
  for (let i = 0; i < 200 && errors.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10))
  t.ok(errors.length > 0, 'the terminated idle connection reported its error')
  await new Promise((resolve) => setTimeout(resolve, 50))
  t.equal((await quiet.getTournament('t1')), undefined, 'the pool without onError reconnects')
})

// --- the store plugin ------------------------------------------------------------------------

t.test('store plugin: `database` URL → PostgreSQL, migrated at registration, pool ended on close', async (t) => {
  // The umbrella's `database` uses the default schema; no other test does.
  const schema = DEFAULT_SCHEMA
  dropAtTeardown(t, schema)
  const app = Fastify()
  await app.register(matchcastStore, { database: DATABASE_URL })
  await app.ready()
  const store = app.matchcast.store
  t.equal(store.constructor.name, 'PostgresStore')
  await t.resolves(store.ping())
  t.ok((await sql(`SELECT to_regclass('"${schema}".matches') AS r`)).rows[0].r, 'migrated')
  await app.close()
  await t.rejects(store.ping(), 'its pool was ended')
})

t.test('store plugin: a `database` pool of the host is left open', async (t) => {
  const pool = new pg.Pool({ connectionString: DATABASE_URL })
  t.teardown(() => pool.end())
  const app = Fastify()
  await app.register(matchcastStore, { database: pool })
  await app.close()
  t.equal((await pool.query('SELECT 1 AS one')).rows[0].one, 1)
})

t.test('store plugin: bad database options fail registration with the option named', async (t) => {
  for (const [database, message] of [
    ['mysql://x', /database: must be a postgres:\/\/ URL or a pg.Pool/],
    [{ not: 'a pool' }, /database: must be/]
  ] as const) {
    const app = Fastify()
    t.teardown(() => app.close())
    await t.rejects(async () => { await app.register(matchcastStore, { database: database as string }).ready() }, { code: 'MATCHCAST_ERR_INVALID_OPTS', message })
  }
  const app = Fastify()
  t.teardown(() => app.close())
  await t.rejects(async () => { await app.register(matchcastStore, { database: DATABASE_URL, store: memoryStore() }).ready() }, { message: /either store or database/ })
  const notAStore = Fastify()
  t.teardown(() => notAStore.close())
  await t.rejects(async () => { await notAStore.register(matchcastStore, { store: {} as Store }).ready() }, { message: /store: must implement the Store interface/ })
})

t.test('store plugin: a database that does not answer fails ready, and its pool is ended', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await t.rejects(async () => { await app.register(matchcastStore, { database: 'postgres://postgres@127.0.0.1:1/test' }).ready() }, { code: 'ECONNREFUSED' })
})

t.test('store plugin: a store of the host that fails ready is not closed by us', async (t) => {
  let closed = false
  const store: Store & { ready (): Promise<void> } = Object.assign(memoryStore(), {
    ready: async () => { throw new Error('not today') },
    close: async () => { closed = true }
  })
  const app = Fastify()
  t.teardown(() => app.close())
  await t.rejects(async () => { await app.register(matchcastStore, { store }).ready() }, { message: 'not today' })
  t.equal(closed, false)
})

t.test('store plugin: no options → an empty memory store', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(matchcastStore, {})
  await app.ready()
  t.equal(app.matchcast.store.constructor.name, 'MemoryStore')
})

t.test('store plugin: errors of idle PostgreSQL connections are logged', async (t) => {
  dropAtTeardown(t, DEFAULT_SCHEMA)
  const name = `mc_plugin_${uniqueSchema().slice(-8)}`
  const logs: Array<Record<string, unknown>> = []
  const app = Fastify({ logger: { level: 'error', stream: { write: (line: string) => { logs.push(JSON.parse(line) as Record<string, unknown>) } } } })
  t.teardown(() => app.close())
  await app.register(matchcastStore, { database: `${DATABASE_URL}?application_name=${name}` })
  await app.ready()
  await sql('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [name])
  for (let i = 0; i < 200 && logs.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10))
  t.match(logs[0], { msg: 'matchcast: PostgreSQL connection error' })
})

t.test('umbrella: `database` selects PostgreSQL for every plugin and route', async (t) => {
  dropAtTeardown(t, DEFAULT_SCHEMA)
  const { default: matchcast } = await import('../../../index.js')
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(matchcast, { auth: { secret: 'x'.repeat(32) }, database: DATABASE_URL, heartbeat: { intervalMs: 0 } })
  await app.ready()
  t.equal(app.matchcast.store.constructor.name, 'PostgresStore')
  t.equal((await app.inject({ url: '/readyz' })).statusCode, 200)
})
