/** The ops routes: `/healthz`, `/readyz`, `/metrics`. Never rate-limited, so probes and scrapers never see a 429. */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifyPluginAsync } from 'fastify'
import { within } from '../../lib/timeout.js'
import { joinDocument } from '../../plugins/openapi/index.js'
import { limiterStatus } from '../../plugins/rate-limit/index.js'
import { Health, Readiness } from '../../schemas/http.js'
import type { RouteContext } from './access.js'

type Check = Readiness['checks']['store']

/** Times `work`: `up` when it resolves within `ms`, else `down` with the reason. */
async function check (ms: number, work: () => Promise<unknown>): Promise<Check> {
  const started = performance.now()
  try {
    await within(ms, work())
    return { status: 'up', latencyMs: performance.now() - started }
  } catch (err) {
    return { status: 'down', latencyMs: performance.now() - started, message: (err as Error).message }
  }
}

const ops: FastifyPluginAsync<RouteContext> = async (instance, { options }) => {
  const app = instance.withTypeProvider<TypeBoxTypeProvider>()
  const { timedStore: store, metrics } = app.matchcast
  const config = { swaggerTransform: joinDocument, ...options.routeConfig }

  app.get('/healthz', {
    config,
    schema: { summary: 'Liveness: the process serves requests', tags: ['ops'], security: [], response: { 200: Health } }
  }, async () => ({ status: 'ok' as const }))

  app.get('/readyz', {
    config,
    schema: {
      summary: 'Readiness: the store answers (and Redis, when configured)',
      description: '503 when the store does not answer; Redis down is `degraded` (200), since limits then fall back to this instance.',
      tags: ['ops'],
      security: [],
      response: {
        200: Readiness,
        503: {
          ...Readiness,
          description: 'The store does not answer.',
          example: { status: 'unavailable', checks: { store: { status: 'down', latencyMs: 2000.6, message: 'no answer within 2000 ms' } } }
        }
      }
    }
  }, async (_request, reply) => {
    const redis = app.matchcast.redis
    const [storeCheck, redisCheck] = await Promise.all([
      check(options.readinessTimeoutMs, () => store.ping()),
      redis === undefined ? undefined : check(options.readinessTimeoutMs, () => redis.client.ping())
    ])
    const checks: Readiness['checks'] = { store: storeCheck }
    // Where the limiter counts now: 'memory' while it has fallen back from Redis.
    if (redisCheck !== undefined) checks.redis = { ...redisCheck, limiter: limiterStatus(app).mode }
    const status = storeCheck.status === 'down' ? 'unavailable' : checks.redis?.status === 'down' ? 'degraded' : 'ok'
    return reply.code(status === 'unavailable' ? 503 : 200).send({ status, checks })
  })

  app.get('/metrics', {
    config,
    schema: {
      summary: 'Prometheus metrics of this instance',
      tags: ['ops'],
      security: [],
      response: { 200: { description: 'Prometheus text exposition format.', content: { 'text/plain': { schema: { type: 'string' } } } } }
    }
  }, async (_request, reply) => {
    const text = await metrics.registry.metrics()
    return reply.type(metrics.registry.contentType).send(text)
  })
}

export default ops
