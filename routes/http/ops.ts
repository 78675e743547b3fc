/** The ops routes: `/healthz`, `/readyz`, `/metrics`. Never rate-limited, so probes and scrapers never see a 429. */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifyPluginAsync } from 'fastify'
import type { Cluster, Redis } from 'ioredis'
import { SLOTS } from '../../lib/key-slot.js'
import { within } from '../../lib/timeout.js'
import { joinDocument } from '../../plugins/openapi/index.js'
import { limiterStatus } from '../../plugins/rate-limit/index.js'
import { isCluster } from '../../plugins/redis/index.js'
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

type ClusterCheck = NonNullable<NonNullable<Readiness['checks']['redis']>['cluster']>

/**
 * A cluster answers when any of its primaries does. A keyless PING would go to one node picked at
 * random, maybe the one that is frozen or failing over; whether every slot is served is
 * `clusterState`'s question.
 */
function pingCluster (cluster: Cluster): Promise<unknown> {
  return Promise.any(cluster.nodes('master').map((node: Redis) => node.ping()))
    .catch((err: AggregateError) => { throw new Error(`no primary answers (${err.errors.length} asked)`, { cause: err }) })
}

/**
 * Whether every slot of the cluster is served, as the best-informed reachable node says: every
 * node is asked at once (one may be the primary that just died), and one saying `ok` is enough.
 */
async function clusterState (cluster: Cluster, ms: number): Promise<ClusterCheck> {
  const answers = await Promise.all(cluster.nodes('all').map((node: Redis) =>
    within(ms, node.cluster('INFO') as Promise<string>).catch(() => '')))
  const states = answers.map((info) => ({
    ok: info.includes('cluster_state:ok'),
    slots: Number(/cluster_slots_ok:(\d+)/.exec(info)?.[1] ?? 0)
  }))
  const ok = states.some((s) => s.ok)
  return { state: ok ? 'ok' : 'fail', slotsServed: ok ? SLOTS : Math.max(0, ...states.map((s) => s.slots)) }
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
      description: '503 when the store does not answer. Redis down, a cluster with slots not served, or a subscriber connection down is `degraded` (200): limits then fall back to this instance, rooms resync once it recovers.',
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
    const client = redis?.client
    const [storeCheck, redisCheck, cluster] = await Promise.all([
      check(options.readinessTimeoutMs, () => store.ping()),
      client === undefined ? undefined : check(options.readinessTimeoutMs, () => isCluster(client) ? pingCluster(client) : client.ping()),
      client !== undefined && isCluster(client) ? clusterState(client, options.readinessTimeoutMs) : undefined
    ])
    const checks: Readiness['checks'] = { store: storeCheck }
    if (redisCheck !== undefined) {
      // Where the limiter counts now: 'memory' while it has fallen back from Redis.
      checks.redis = { ...redisCheck, limiter: limiterStatus(app).mode }
      if (cluster !== undefined) checks.redis.cluster = cluster
      const listening = app.matchcast.events.health()
      if (listening !== undefined) {
        checks.redis.subscribers = listening.subscribers
        checks.redis.pendingChannels = listening.pending
      }
    }
    const redisDegraded = checks.redis !== undefined && (checks.redis.status === 'down' || checks.redis.cluster?.state === 'fail' ||
      checks.redis.subscribers?.some((s) => s.status === 'down') === true)
    const status = storeCheck.status === 'down' ? 'unavailable' : redisDegraded ? 'degraded' : 'ok'
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
