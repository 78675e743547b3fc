/** Mounting matchcast into a host API: prefix, areas on/off and moved, route collisions, the host's own plugins. */
import fastifyJwt from '@fastify/jwt'
import Fastify, { type FastifyInstance } from 'fastify'
import { Counter, Registry } from 'prom-client'
import t from 'tap'
import matchcast, { memoryStore, type MatchcastOptions } from '../index.js'
import { as, Client, SECRET, testSeed, token, type TapLike } from './helper.js'

async function host (t: TapLike, options: Partial<MatchcastOptions>, before: (app: FastifyInstance) => unknown = () => {}): Promise<{ app: FastifyInstance, base: string }> {
  const app = Fastify()
  t.teardown(() => app.close())
  await before(app)
  await app.register(matchcast, { auth: { secret: SECRET }, store: memoryStore(testSeed()), heartbeat: { intervalMs: 0 }, closeGraceMs: 200, ...options })
  await app.listen({ port: 0, host: '127.0.0.1' })
  return { app, base: `127.0.0.1:${(app.server.address() as { port: number }).port}` }
}

const bearer = (user: string) => ({ authorization: `Bearer ${token(user)}` })

t.test('prefix moves every route: rooms, side routes, docs and ops', async (t) => {
  const { app, base } = await host(t, { prefix: '/live' })
  const c = new Client(`ws://${base}/live/ws/matches/m1`, as('u-org'))
  t.teardown(() => c.close())
  t.match(await c.next(), { type: 'snapshot', matchId: 'm1', role: 'organizer' })
  t.equal((await app.inject({ url: '/live/matches/m1', headers: bearer('u-org') })).json().id, 'm1')
  for (const url of ['/live/healthz', '/live/readyz', '/live/metrics', '/live/docs/json', '/live/docs/asyncapi.json', '/live/docs/']) {
    t.equal((await app.inject({ url })).statusCode, 200, url)
  }
  for (const url of ['/healthz', '/matches/m1', '/docs/json', '/docs/asyncapi.json']) t.equal((await app.inject({ url })).statusCode, 404, `${url} is not served`)
  const paths = Object.keys((await app.inject({ url: '/live/docs/json' })).json().paths)
  t.ok(paths.includes('/live/matches/{matchId}'), 'the document names the prefixed paths')
  const asyncapi = (await app.inject({ url: '/live/docs/asyncapi.json' })).json()
  t.equal(asyncapi.channels.matchRoom.address, '/live/ws/matches/{matchId}')
})

t.test('each area can be moved or turned off', async (t) => {
  const { app } = await host(t, { http: { routesPrefix: '/api', opsPrefix: '/ops', docsPrefix: '/api/docs' } })
  t.equal((await app.inject({ url: '/api/matches/m1', headers: bearer('u-org') })).statusCode, 200)
  t.equal((await app.inject({ url: '/ops/healthz' })).statusCode, 200)
  t.equal((await app.inject({ url: '/api/docs/asyncapi.json' })).statusCode, 200)
  t.equal((await app.inject({ url: '/matches/m1', headers: bearer('u-org') })).statusCode, 404)
  const off = await host(t, { http: { routes: false, ops: false, docs: false } })
  for (const url of ['/matches/m1', '/healthz', '/metrics', '/docs/json', '/docs/asyncapi.json']) t.equal((await off.app.inject({ url })).statusCode, 404, `${url} is off`)
  const c = new Client(`ws://${off.base}/ws/matches/m1`, as('u-a'))
  t.teardown(() => c.close())
  t.match(await c.next(), { type: 'snapshot' }, 'the rooms stay')
})

t.test('docsUi: false serves the documents without Swagger UI', async (t) => {
  const { app } = await host(t, { http: { docsUi: false } })
  t.equal((await app.inject({ url: '/docs/json' })).statusCode, 200)
  t.equal((await app.inject({ url: '/docs/asyncapi.json' })).statusCode, 200)
  t.equal((await app.inject({ url: '/docs/' })).statusCode, 404)
})

t.test('a route the host already serves fails ready() naming it, never the process', async (t) => {
  for (const url of ['/healthz', '/metrics', '/matches/:matchId', '/docs', '/docs/asyncapi.json', '/ws/matches/:matchId']) {
    const app = Fastify()
    t.teardown(() => app.close())
    app.get(url, async () => 'host')
    app.register(matchcast, { auth: { secret: SECRET }, heartbeat: { intervalMs: 0 } })
    const err = await app.ready().then(() => undefined, (e: Error & { code?: string }) => e)
    t.equal(err?.code, 'MATCHCAST_ERR_ROUTE_COLLISION', url)
    t.match(err?.message, `'${url}'`, 'the message names the route')
  }
  const ok = await host(t, { http: { opsPrefix: '/matchcast' } }, (app) => {
    app.get('/healthz', async () => 'host')
    app.get('/metrics', async () => 'host metrics')
  })
  t.equal((await ok.app.inject({ url: '/healthz' })).body, 'host', 'the host keeps its route')
  t.equal((await ok.app.inject({ url: '/matchcast/healthz' })).statusCode, 200)
})

t.test('prefix is validated at registration', async (t) => {
  for (const prefix of ['live', '/live/', '/a b']) {
    const app = Fastify()
    t.teardown(() => app.close())
    app.register(matchcast, { auth: { secret: SECRET }, prefix })
    await t.rejects(async () => { await app.ready() }, { code: 'MATCHCAST_ERR_INVALID_OPTS', message: /option prefix: / }, prefix)
  }
})

t.test('a host\'s own @fastify/jwt verifies tokens: no auth.secret, request.user left to the host', async (t) => {
  const { app, base } = await host(t, { auth: {} }, async (app) => {
    await app.register(fastifyJwt, { secret: 'the-host-secret-0123456789abcdef', formatUser: (payload) => ({ hostUser: (payload as { sub: string }).sub }) })
    app.get('/me', { onRequest: (request) => request.jwtVerify() }, async (request) => request.user)
  })
  const hostToken = app.jwt.sign({ sub: 'u-org' }, { expiresIn: '1h' })
  const c = new Client(`ws://${base}/ws/matches/m1`, { headers: { authorization: `Bearer ${hostToken}` } })
  t.teardown(() => c.close())
  t.match(await c.next(), { type: 'snapshot', role: 'organizer' })
  t.equal((await app.inject({ url: '/matches/m1', headers: { authorization: `Bearer ${hostToken}` } })).statusCode, 200)
  t.equal((await app.inject({ url: '/matches/m1', headers: bearer('u-org') })).statusCode, 401, 'a token of another secret is refused')
  t.same((await app.inject({ url: '/me', headers: { authorization: `Bearer ${hostToken}` } })).json(), { hostUser: 'u-org' })
})

t.test('metrics go into the host\'s registry, time only matchcast\'s routes, and leave with matchcast', async (t) => {
  const registry = new Registry()
  const own = new Counter({ name: 'host_orders_total', help: 'orders', registers: [registry] })
  own.inc()
  const { app } = await host(t, { metrics: { registry } }, (app) => { app.get('/orders', async () => []) })
  await app.inject({ url: '/orders' })
  await app.inject({ url: '/matches/m1', headers: bearer('u-org') })
  const text = await registry.metrics()
  t.match(text, /host_orders_total 1/)
  t.match(text, /matchcast_http_request_duration_seconds_count\{method="GET",route="\/matches\/:matchId",status_code="200"\} 1/)
  t.notMatch(text, /route="\/orders"/, 'the host\'s routes are not timed')
  t.match((await app.inject({ url: '/metrics' })).body, /host_orders_total 1/, '/metrics serves that registry')
  await app.close()
  t.same((await registry.getMetricsAsJSON()).map((m) => m.name), ['host_orders_total'], 'only the host\'s metric is left')
})

t.test('metrics.registry must be a prom-client registry', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  app.register(matchcast, { auth: { secret: SECRET }, metrics: { registry: {} as Registry } })
  await t.rejects(async () => { await app.ready() }, { code: 'MATCHCAST_ERR_INVALID_OPTS', message: /metrics\.registry/ })
})
