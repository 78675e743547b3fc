import Fastify from 'fastify'
import t from 'tap'
import matchcastMetrics, { frameType } from '../../../plugins/metrics/index.js'
import { memoryStore } from '../../../plugins/store/memory-store.js'
import { as, client, until } from '../../helper.js'
import { TcpProxy } from '../../proxy.js'
import { startRedis } from '../../redis.js'
import { bearer, httpApp, liveSeed } from './setup.js'

t.test('GET /healthz', async (t) => {
  const { app } = await httpApp(t)
  const res = await app.inject({ url: '/healthz' })
  t.equal(res.statusCode, 200)
  t.same(res.json(), { status: 'ok' })
})

t.test('GET /readyz: ok while the store answers', async (t) => {
  const { app } = await httpApp(t)
  const res = await app.inject({ url: '/readyz' })
  t.equal(res.statusCode, 200)
  t.match(res.json(), { status: 'ok', checks: { store: { status: 'up' } } })
  t.notOk('redis' in res.json().checks, 'no Redis configured, none reported')
})

t.test('GET /readyz: 503 when the store fails or does not answer in time', async (t) => {
  const failing = memoryStore(liveSeed())
  failing.ping = async () => { throw new Error('connection refused') }
  const { app } = await httpApp(t, {}, failing)
  const res = await app.inject({ url: '/readyz' })
  t.equal(res.statusCode, 503)
  t.match(res.json(), { status: 'unavailable', checks: { store: { status: 'down', message: 'connection refused' } } })

  const hanging = memoryStore(liveSeed())
  hanging.ping = () => new Promise(() => {})
  const { app: slow } = await httpApp(t, { http: { readinessTimeoutMs: 20 } }, hanging)
  const timedOut = await slow.inject({ url: '/readyz' })
  t.equal(timedOut.statusCode, 503)
  t.match(timedOut.json(), { checks: { store: { status: 'down', message: 'no answer within 20 ms' } } })
})

t.test('GET /readyz: reports Redis and the limiter; Redis down is degraded, not unavailable', async (t) => {
  const redis = await startRedis(t)
  const { app } = await httpApp(t, { redis: redis.url })
  const up = await app.inject({ url: '/readyz' })
  t.equal(up.statusCode, 200)
  t.match(up.json(), { status: 'ok', checks: { store: { status: 'up' }, redis: { status: 'up', subscribers: [{ node: `127.0.0.1:${redis.port}`, status: 'up', channels: 0 }], pendingChannels: 0 } } })
  t.notOk('cluster' in up.json().checks.redis, 'one server: no cluster state')
  t.type(up.json().checks.redis.limiter, 'string', 'the limiter says where its counters are')
  await redis.kill()
  await until(() => app.matchcast.events.health()!.subscribers[0]!.status === 'down')
  const down = await app.inject({ url: '/readyz' })
  t.equal(down.statusCode, 200)
  t.match(down.json(), { status: 'degraded', checks: { store: { status: 'up' }, redis: { status: 'down', subscribers: [{ status: 'down', channels: 0 }], pendingChannels: 0 } } })
  // Back up before the app closes (closing cleanly needs Redis to answer QUIT).
  await redis.restart()
  for (let i = 0; i < 100 && app.matchcast.redis!.client.status !== 'ready'; i++) await new Promise((resolve) => setTimeout(resolve, 20))
})

t.test('GET /readyz: ready means the subscriber listens too, even when its connection is slower than the first', async (t) => {
  const redis = await startRedis(t)
  // The second connection (the broker's subscriber, opened after the shared client) takes 300 ms.
  const proxy = new TcpProxy({ target: () => redis.port, delay: (n) => n === 2 ? 300 : 0 })
  const port = new URL(await proxy.listen(t)).port
  const { app } = await httpApp(t, { redis: `redis://127.0.0.1:${port}` })
  t.equal(proxy.connections, 2)
  const res = await app.inject({ url: '/readyz' })
  t.match(res.json(), { status: 'ok', checks: { redis: { status: 'up', subscribers: [{ status: 'up' }] } } })
})

t.test('GET /metrics: Prometheus text of this app\'s own registry', async (t) => {
  const { app, wsUrl } = await httpApp(t)
  const c = client(t, wsUrl, '/ws/matches/m1', as('u-org'))
  await c.next()
  await c.ping()
  await app.inject({ url: '/matches/m1', headers: bearer('u-org') })
  for (let i = 1; i <= 3; i++) app.matchcast.events.emit('m1', { type: 'result_reported', data: { by: 'u-a', scores: { 'u-a': i } } })
  await app.matchcast.events.flush()
  t.match(await c.next(), { type: 'batch', matchId: 'm1' })
  const res = await app.inject({ url: '/metrics' })
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /^text\/plain/)
  const text = res.body
  t.match(text, /^matchcast_connections 1$/m)
  t.match(text, /^matchcast_connections_opened_total 1$/m)
  t.match(text, /^matchcast_frames_received_total 1$/m)
  t.match(text, /^matchcast_frames_sent_total\{type="snapshot"\} 1$/m)
  t.match(text, /^matchcast_frames_sent_total\{type="pong"\} 1$/m)
  // The room's frame: bytes encoded once for every socket, counted by the type they carry.
  t.match(text, /^matchcast_frames_sent_total\{type="batch"\} 1$/m)
  t.notMatch(text, /type="binary"/)
  t.match(text, /^matchcast_batch_flushes_total 1$/m)
  t.match(text, /^matchcast_batch_events_total 3$/m)
  t.match(text, /^matchcast_http_request_duration_seconds_count\{method="GET",route="\/matches\/:matchId",status_code="200"\} 1$/m)
  await c.close()
  await new Promise((resolve) => setTimeout(resolve, 20))
  const after = (await app.inject({ url: '/metrics' })).body
  t.match(after, /^matchcast_ws_close_total\{code="1000"\} 1$/m)
  t.match(after, /^matchcast_connections 0$/m)
  await app.inject({ url: '/no-such-route' })
  t.notMatch((await app.inject({ url: '/metrics' })).body, /status_code="404"/, 'a request matchcast does not serve is not timed')
})

t.test('frameType: the type of a serialized frame', async (t) => {
  t.equal(frameType('{"type":"batch","matchId":"m1"}'), 'batch')
  t.equal(frameType('{"matchId":"m1","type":"x"}'), 'other')
  t.equal(frameType(Buffer.from('{"type":"score_updated","matchId":"m1"}')), 'score_updated')
  t.equal(frameType(Buffer.from('{}')), 'other')
  t.equal(frameType(new ArrayBuffer(2)), 'other')
})

t.test('the metrics plugin works without WebSockets and clears its registry on close', async (t) => {
  const app = Fastify()
  await app.register(matchcastMetrics)
  app.get('/x', async () => 'x')
  await app.inject({ url: '/x' })
  t.match(await app.matchcast.metrics.registry.metrics(), /matchcast_connections 0/)
  await app.close()
  t.notMatch(await app.matchcast.metrics.registry.metrics(), /matchcast_/)
})
