import { Writable } from 'node:stream'
import Fastify from 'fastify'
import t from 'tap'
import matchcast, { matchcastAuth } from '../../../index.js'
import { SECRET, client, token } from '../../helper.js'

async function httpApp (t: Parameters<typeof client>[0]) {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(matchcastAuth, { secret: SECRET })
  app.get('/me', { onRequest: (request, reply) => app.matchcast.auth.authenticate(request, reply) }, async (request) => ({ sub: app.matchcast.auth.userOf(request) }))
  return app
}

t.test('authenticate: a bearer token sets request.user', async (t) => {
  const app = await httpApp(t)
  const res = await app.inject({ url: '/me', headers: { authorization: `Bearer ${token('u-a')}` } })
  t.equal(res.statusCode, 200)
  t.same(res.json(), { sub: 'u-a' })
})

t.test('authenticate: missing or bad tokens answer 401 with a coded error', async (t) => {
  const app = await httpApp(t)
  const missing = await app.inject({ url: '/me' })
  t.equal(missing.statusCode, 401)
  t.match(missing.json(), { code: 'MATCHCAST_ERR_AUTH_UNAUTHORIZED', message: 'missing bearer token' })
  const bad = await app.inject({ url: '/me', headers: { authorization: `Bearer ${token('u-a', { secret: 'wrong-secret-wrong-secret-wrong-00' })}` } })
  t.equal(bad.statusCode, 401)
  t.equal(bad.json().code, 'MATCHCAST_ERR_AUTH_UNAUTHORIZED')
  const basic = await app.inject({ url: '/me', headers: { authorization: 'Basic dTpw' } })
  t.equal(basic.statusCode, 401)
})

t.test('userOf a request that was never authenticated is a 401, not another user', async (t) => {
  const app = await httpApp(t)
  app.get('/open', async (request) => ({ sub: app.matchcast.auth.userOf(request) }))
  const res = await app.inject({ url: '/open', headers: { authorization: `Bearer ${token('u-a')}` } })
  t.equal(res.statusCode, 401)
  t.match(res.json(), { code: 'MATCHCAST_ERR_AUTH_UNAUTHORIZED', message: 'request not authenticated' })
})

t.test('issuer and audience, when configured, are required', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(matchcastAuth, { secret: SECRET, issuer: 'platform', audience: 'rooms' })
  await app.ready()
  const good = app.jwt.sign({ sub: 'u-a' }, { expiresIn: '1h' })
  t.equal(app.matchcast.auth.verify(good), 'u-a', 'tokens signed by the app carry iss and aud')
  t.throws(() => app.matchcast.auth.verify(token('u-a')), { code: 'MATCHCAST_ERR_AUTH_UNAUTHORIZED' })
})

t.test('an app that registered @fastify/jwt itself keeps its instance', async (t) => {
  const { default: fastifyJwt } = await import('@fastify/jwt')
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(fastifyJwt, { secret: SECRET })
  await app.register(matchcastAuth, { secret: 'ignored-because-jwt-is-registered' })
  await app.ready()
  t.equal(app.matchcast.auth.verify(token('u-b')), 'u-b')
})

t.test('a query token never reaches the logs, and other query parameters survive', async (t) => {
  const lines: string[] = []
  const stream = new Writable({ write (chunk, _enc, done) { lines.push(chunk.toString()); done() } })
  const app = Fastify({ logger: { level: 'info', stream } })
  t.teardown(() => app.close())
  await app.register(matchcast, { auth: { secret: SECRET }, heartbeat: { intervalMs: 0 } })
  app.get('/echo', async (request) => request.query)
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as { port: number }
  const secret = token('u-org')
  const c = client(t, `ws://127.0.0.1:${port}`, `/ws/matches/m1?token=${secret}&lastSeq=0`)
  t.same(await c.closeInfo(), { code: 4004, reason: 'not_found' }, 'authenticated by the query token (the empty store has no m1)')
  const res = await fetch(`http://127.0.0.1:${port}/echo?a=1&token=${secret}`)
  t.same(await res.json(), { a: '1' })
  const plain = await fetch(`http://127.0.0.1:${port}/echo?a=2`)
  t.same(await plain.json(), { a: '2' })
  const onlyToken = await fetch(`http://127.0.0.1:${port}/echo?token=x`)
  t.same(await onlyToken.json(), {})
  t.ok(lines.some((l) => l.includes('/ws/matches/m1?lastSeq=0')), 'the request was logged')
  t.notOk(lines.some((l) => l.includes(secret) || l.includes('token=')), 'without its token')
})

t.test('auth options are validated at registration, naming the option', async (t) => {
  const cases: Array<[Record<string, unknown>, RegExp]> = [
    [{}, /auth\.secret: required/],
    [{ secret: '' }, /auth\.secret: /],
    [{ secret: SECRET, algorithm: 'none' }, /auth\.algorithm: /],
    [{ secret: SECRET, wat: 1 }, /auth\.wat: unknown option/]
  ]
  for (const [options, message] of cases) {
    const app = Fastify()
    await t.rejects(async () => { await app.register(matchcastAuth, options as never).ready() }, { code: 'MATCHCAST_ERR_INVALID_OPTS', message })
    await app.close()
  }
})
