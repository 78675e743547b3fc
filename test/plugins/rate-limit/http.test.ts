/**
 * The HTTP side of the limiter: @fastify/rate-limit, opt-in per route, in the project's error shape,
 * shared through Redis (with its fallback) when configured.
 */
import Fastify, { type FastifyInstance } from 'fastify'
import t, { type Test } from 'tap'
import matchcast, { rateLimited, type MatchcastOptions } from '../../../index.js'
import { SECRET, until } from '../../helper.js'
import { startRedis, uniquePrefix } from '../../redis.js'

async function build (t: Test, options: Partial<MatchcastOptions> = {}): Promise<FastifyInstance> {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(matchcast, { auth: { secret: SECRET }, ...options })
  app.get('/limited', { config: rateLimited({ max: 2 }) }, async () => ({ ok: true }))
  app.get('/defaults', { config: rateLimited() }, async () => ({ ok: true }))
  app.get('/open', async () => ({ ok: true }))
  await app.ready()
  return app
}

t.test('a route that opts in answers 429 past its max, in the error shape, with retry headers', async (t) => {
  const app = await build(t)
  t.equal((await app.inject('/limited')).statusCode, 200)
  const second = await app.inject('/limited')
  t.equal(second.statusCode, 200)
  t.equal(second.headers['x-ratelimit-remaining'], '0')
  const third = await app.inject('/limited')
  t.equal(third.statusCode, 429)
  t.same(Object.keys(third.json()).sort(), ['code', 'error', 'message', 'statusCode'])
  t.match(third.json(), { statusCode: 429, code: 'MATCHCAST_ERR_RATE_LIMITED', error: 'Too Many Requests', message: /rate limit exceeded, retry in 1 minute/ })
  t.equal(third.headers['retry-after'], '60')
  t.equal((await app.inject('/defaults')).statusCode, 200, 'each route counts on its own')
  for (let i = 0; i < 5; i++) t.equal((await app.inject('/open')).statusCode, 200, 'a route that did not opt in is not limited')
})

t.test('without overrides, a route takes the plugin http defaults', async (t) => {
  const app = await build(t, { rateLimit: { http: { max: 1, timeWindowMs: 1000 } } })
  t.equal((await app.inject('/defaults')).statusCode, 200)
  t.equal((await app.inject('/defaults')).statusCode, 429)
})

t.test('with Redis the count is shared by every instance, and survives Redis failing', async (t) => {
  const redis = await startRedis(t)
  const keyPrefix = uniquePrefix()
  const options = { redis: redis.url, keyPrefix, rateLimit: { redisTimeoutMs: 100, redisProbeIntervalMs: 50 } }
  const a = await build(t, options)
  const b = await build(t, options)
  t.equal((await a.inject('/limited')).statusCode, 200)
  t.equal((await b.inject('/limited')).statusCode, 200)
  t.equal((await a.inject('/limited')).statusCode, 429, 'the hit on B counted on A')
  await redis.kill()
  const during = await b.inject('/defaults')
  t.equal(during.statusCode, 200, 'Redis down: counted in memory, never a 500')
  t.equal(b.matchcast.limiter.mode, 'memory')
  await redis.restart()
  // Closing an app closes its Redis client, which needs a connection again.
  await until(() => a.matchcast.redis!.client.status === 'ready' && b.matchcast.redis!.client.status === 'ready', 5000)
  await until(() => b.matchcast.limiter.mode === 'redis', 5000)
})
