import fastifyRateLimit, { normalizeIP } from '@fastify/rate-limit'
import type { FastifyPluginAsync, FastifyRequest, onRequestAsyncHookHandler } from 'fastify'
import fp from 'fastify-plugin'
import { RateLimitedError } from '../../lib/errors.js'
import { namespace } from '../../lib/namespace.js'
import type { OptionsInput } from '../../lib/options.js'
import { FallbackLimiterStore } from './fallback-store.js'
import { httpStore } from './http-store.js'
import { MemoryLimiterStore } from './memory-store.js'
import { OpenConnections } from './open-connections.js'
import { RedisLimiterStore } from './redis-store.js'
import { createLimiter, type Limiter } from './limiter.js'
import { parseRateLimitOptions, type RateLimitOptions } from './options.js'

declare module '../../lib/namespace.js' {
  interface MatchcastNamespace {
    /** matchcast-rate-limit */
    limiter: Limiter
  }
}

const plugin: FastifyPluginAsync<OptionsInput<RateLimitOptions>> = async (app, rawOptions) => {
  const options = parseRateLimitOptions(rawOptions)
  const redis = namespace(app).redis
  const memory = new MemoryLimiterStore()
  const store = redis === undefined
    ? memory
    : new FallbackLimiterStore(
      new RedisLimiterStore({
        client: redis.client,
        key: redis.key,
        connectionTtlMs: options.connectionTtlMs,
        leaseSize: options.leaseSize,
        leaseTimeoutMs: options.redisTimeoutMs
      }),
      memory,
      { timeoutMs: options.redisTimeoutMs, probeIntervalMs: options.redisProbeIntervalMs, log: app.log })
  const limiter = createLimiter(options, store)
  namespace(app).limiter = limiter
  app.addHook('onClose', () => store.close())

  // Before the upgrade, so a flood of attempts costs no socket and no token check; a browser sees a
  // failed handshake, which is fine for an address that is hammering us. Route-level hooks, so they
  // run after @fastify/websocket's global one has set `request.ws` (plain GETs are not counted).
  const guards: onRequestAsyncHookHandler[] = []
  // Real upgrades only: not plain GETs of a room, nor injected ones (`app.injectWS`: no socket, no address).
  const counted = (request: FastifyRequest) => request.ws && request.raw.socket !== undefined
  if (options.maxConnectionsPerIp > 0) {
    const open = new OpenConnections(options.maxConnectionsPerIp)
    guards.push(async (request) => {
      if (!counted(request)) return
      if (!open.open(normalizeIP(request.ip), request.raw.socket)) {
        throw new RateLimitedError(`too many open connections from this address (at most ${options.maxConnectionsPerIp})`)
      }
    })
  }
  if (options.upgradesPerIp > 0) {
    guards.push(async (request, reply) => {
      if (!counted(request)) return
      const result = await limiter.checkUpgrade(normalizeIP(request.ip))
      if (result.allowed) return
      const seconds = Math.ceil(result.resetMs / 1000)
      reply.header('retry-after', seconds)
      throw new RateLimitedError(`too many connection attempts from this address, retry in ${seconds} s`)
    })
  }
  if (guards.length > 0) {
    app.addHook('onRoute', (route) => {
      if (route.websocket === true) route.onRequest = [...guards, ...[route.onRequest ?? []].flat()]
    })
  }

  // A host that registered @fastify/rate-limit itself keeps it (and its store); routes opt in alike.
  if (!app.hasDecorator('rateLimit')) {
    await app.register(fastifyRateLimit, {
      global: false,
      max: options.http.max,
      timeWindow: options.http.timeWindowMs,
      store: httpStore(store),
      errorResponseBuilder: (_request, context) => new RateLimitedError(`rate limit exceeded, retry in ${context.after}`)
    })
  }
}

/**
 * Per-user WebSocket limits: connections (4008), message rate (4009), payload size (4010); per-IP
 * upgrade attempts and open connections (HTTP 429); and @fastify/rate-limit for HTTP routes that
 * opt in. Shared through Redis when `matchcast-redis` is registered first, falling back to memory
 * while Redis fails (open connections per IP are counted per instance).
 */
export const matchcastRateLimit = fp(plugin, { name: 'matchcast-rate-limit', fastify: '5.x', dependencies: [], decorators: {} })
export * from './options.js'
export { createLimiter, limiterStatus, rateLimited, type CheckResult, type Limiter, type LimiterStatus } from './limiter.js'
export default matchcastRateLimit
