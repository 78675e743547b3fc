import Fastify from 'fastify'
import fastifyRateLimit from '@fastify/rate-limit'
import t from 'tap'
import matchcast, { matchcastBroadcast, matchcastRateLimit, matchcastWebsocket, rateLimited } from '../../../index.js'
import { DEFAULT_HTTP_MAX, DEFAULT_MAX_CONNECTIONS_PER_IP, DEFAULT_UPGRADES_PER_IP, defaultLeaseSize, parseRateLimitOptions } from '../../../plugins/rate-limit/index.js'
import { SECRET } from '../../helper.js'

const cases: Array<[string, Record<string, unknown>, RegExp]> = [
  ['a zero burst', { rateLimit: { burst: 0 } }, /rateLimit\.burst: must be >= 1/],
  ['a zero rate', { rateLimit: { messagesPerSecond: 0 } }, /rateLimit\.messagesPerSecond: must be > 0/],
  ['a payload limit over 64 MiB', { rateLimit: { maxPayloadBytes: 64 * 1024 * 1024 + 1 } }, /rateLimit\.maxPayloadBytes: must be <= 67108864/],
  ['a negative per-IP limit', { rateLimit: { upgradesPerIp: -1 } }, /rateLimit\.upgradesPerIp: must be >= 0/],
  ['a zero upgrade window', { rateLimit: { upgradeWindowMs: 0 } }, /rateLimit\.upgradeWindowMs: must be >= 1/],
  ['a tiny slot TTL', { rateLimit: { connectionTtlMs: 10 } }, /rateLimit\.connectionTtlMs: must be >= 30/],
  ['a zero Redis timeout', { rateLimit: { redisTimeoutMs: 0 } }, /rateLimit\.redisTimeoutMs: must be >= 1/],
  ['a fractional probe interval', { rateLimit: { redisProbeIntervalMs: 1.5 } }, /rateLimit\.redisProbeIntervalMs: must be integer/],
  ['a negative lease', { rateLimit: { leaseSize: -1 } }, /rateLimit\.leaseSize: must be >= 0/],
  ['a fractional lease', { rateLimit: { leaseSize: 2.5 } }, /rateLimit\.leaseSize: must be integer/],
  ['a lease above the burst', { rateLimit: { burst: 4, leaseSize: 5 } }, /rateLimit\.leaseSize: must not be above rateLimit\.burst \(4\)/],
  ['a zero HTTP max', { rateLimit: { http: { max: 0 } } }, /rateLimit\.http\.max: must be >= 1/],
  ['an unknown HTTP option', { rateLimit: { http: { window: 1 } } }, /rateLimit\.http\.window: unknown option/],
  ['an unknown limiter option', { rateLimit: { maxConnections: 1 } }, /rateLimit\.maxConnections: unknown option/],
  ['a transport cap not above the payload limit', { rateLimit: { maxPayloadBytes: 4096 }, transportMaxPayloadBytes: 4096 },
    /websocket\.transportMaxPayloadBytes: must be above rateLimit\.maxPayloadBytes \(4096\)/]
]

for (const [name, options, message] of cases) {
  t.test(`${name} fails app.ready() with MATCHCAST_ERR_INVALID_OPTS naming it`, async (t) => {
    const app = Fastify()
    t.teardown(() => app.close())
    app.register(matchcast, { auth: { secret: SECRET }, ...options } as never)
    await t.rejects(async () => { await app.ready() }, { code: 'MATCHCAST_ERR_INVALID_OPTS', message })
  })
}

t.test('defaults: named constants, SPEC values, a generous per-IP limit', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(matchcastRateLimit)
  t.same(app.matchcast.limiter.options, {
    maxConnectionsPerUser: 5,
    messagesPerSecond: 10,
    burst: 20,
    maxPayloadBytes: 16384,
    upgradesPerIp: DEFAULT_UPGRADES_PER_IP,
    upgradeWindowMs: 60_000,
    maxConnectionsPerIp: DEFAULT_MAX_CONNECTIONS_PER_IP,
    connectionTtlMs: 30_000,
    redisTimeoutMs: 200,
    redisProbeIntervalMs: 1000,
    http: { max: DEFAULT_HTTP_MAX, timeWindowMs: 60_000 },
    leaseSize: 5
  })
  t.ok(DEFAULT_UPGRADES_PER_IP >= 600)
  t.ok(DEFAULT_MAX_CONNECTIONS_PER_IP >= 1000)
  t.equal(app.matchcast.limiter.mode, 'memory')
  t.equal(app.matchcast.limiter.backend, 'memory')
})

t.test('leaseSize: a quarter of burst by default (1, no lease, below 8); 0 and burst itself are kept', async (t) => {
  t.same([1, 7, 8, 20, 100].map(defaultLeaseSize), [1, 1, 2, 5, 25])
  t.equal(parseRateLimitOptions({ burst: 40 }).leaseSize, 10)
  t.equal(parseRateLimitOptions({ burst: 40, leaseSize: 0 }).leaseSize, 0)
  t.equal(parseRateLimitOptions({ burst: 40, leaseSize: 40 }).leaseSize, 40)
})

t.test('a transport cap set above the payload limit is kept; without the limiter, the default stands', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(matchcast, { auth: { secret: SECRET }, rateLimit: { maxPayloadBytes: 4096 }, transportMaxPayloadBytes: 4097 })
  await app.ready()
  t.equal(app.websocketServer.options.maxPayload, 4097)

  const bare = Fastify()
  t.teardown(() => bare.close())
  await bare.register(matchcastBroadcast)
  await bare.register(matchcastWebsocket)
  await bare.ready()
  t.equal(bare.websocketServer.options.maxPayload, 1024 * 1024)
})

t.test('a host that registered @fastify/rate-limit keeps it', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(fastifyRateLimit, { global: false, max: 1 })
  await app.register(matchcastRateLimit)
  app.get('/x', { config: rateLimited() }, async () => 'ok')
  t.equal((await app.inject('/x')).statusCode, 200)
  const second = await app.inject('/x')
  t.equal(second.statusCode, 429, "the host's max of 1 applies")
  t.notOk(second.json().code === 'MATCHCAST_ERR_RATE_LIMITED', "and the host's error")
})

t.test('rateLimited() builds the route config', async (t) => {
  t.same(rateLimited(), { rateLimit: {} })
  t.same(rateLimited({ max: 3 }), { rateLimit: { max: 3 } })
  t.same(rateLimited({ max: 3, timeWindowMs: 500 }), { rateLimit: { max: 3, timeWindow: 500 } })
})
