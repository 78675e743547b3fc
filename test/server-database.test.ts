import t from 'tap'
import { createServer, loadConfig } from '../server.js'
import { DATABASE_URL, dropAtTeardown, sql, uniqueSchema } from './postgres.js'

t.test('DATABASE_URL: must be a postgres URL (and is not echoed)', async (t) => {
  t.throws(() => loadConfig({ DATABASE_URL: 'mysql://user:pw@host/db' }), { message: 'DATABASE_URL: expected a postgres:// or postgresql:// URL' })
  t.equal(loadConfig({}).databaseUrl, undefined)
  t.match(loadConfig({ DATABASE_URL, MATCHCAST_DATABASE_SCHEMA: 'demo' }), { databaseUrl: DATABASE_URL, databaseSchema: 'demo' })
})

t.test('DATABASE_URL: the demo serves from PostgreSQL, seeded, logs idle-connection errors, ends its pool on close', async (t) => {
  const schema = uniqueSchema()
  dropAtTeardown(t, schema)
  const name = `mc_demo_${schema.slice(-8)}`
  const app = await createServer(loadConfig({ DATABASE_URL: `${DATABASE_URL}?application_name=${name}`, MATCHCAST_DATABASE_SCHEMA: schema, MATCHCAST_LOG_LEVEL: 'silent' }))
  t.equal(app.matchcast.store.constructor.name, 'PostgresStore')
  t.equal((await app.matchcast.store.getTournament('t1'))!.name, 'Spring Cup')
  t.equal((await sql(`SELECT count(*)::int AS n FROM "${schema}".matches`)).rows[0].n, 3, 'the demo seed is in the schema')
  t.equal((await app.inject({ url: '/readyz' })).statusCode, 200)
  await sql('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [name])
  await new Promise((resolve) => setTimeout(resolve, 100))
  t.equal((await app.inject({ url: '/readyz' })).statusCode, 200, 'the pool reconnects')
  await app.close()
  await t.rejects(app.matchcast.store.ping())
})

t.test('a bad schema name names MATCHCAST_DATABASE_SCHEMA', async (t) => {
  await t.rejects(createServer(loadConfig({ DATABASE_URL, MATCHCAST_DATABASE_SCHEMA: 'Bad-Name', MATCHCAST_LOG_LEVEL: 'silent' })), { message: /^MATCHCAST_DATABASE_SCHEMA: .*database\.schema/ })
})

t.test('a DATABASE_URL that does not answer stops the start', async (t) => {
  await t.rejects(createServer(loadConfig({ DATABASE_URL: 'postgres://postgres@127.0.0.1:1/test', MATCHCAST_LOG_LEVEL: 'silent' })), { message: /ECONNREFUSED/ })
})
