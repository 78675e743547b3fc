import fastifyRateLimit, { normalizeIP, type FastifyRateLimitStore, type RateLimitOptions as RouteRateLimitOptions } from '@fastify/rate-limit'
import type { FastifyInstance, FastifyPluginAsync, FastifyRequest, onRequestAsyncHookHandler } from 'fastify'
import fp from 'fastify-plugin'
import { Type, type Static } from 'typebox'
import { RateLimitedError } from '../errors.js'
import { namespace } from '../namespace.js'
import { parseOptions, type OptionsInput } from '../options.js'
import { FallbackLimiterStore } from './fallback-store.js'
import { MemoryLimiterStore } from './memory-store.js'
import { OpenConnections } from './open-connections.js'
import { RedisLimiterStore } from './redis-store.js'
import type { LimiterMode, LimiterStore } from './store.js'

export const DEFAULT_MAX_CONNECTIONS_PER_USER = 5
export const DEFAULT_MESSAGES_PER_SECOND = 10
export const DEFAULT_BURST = 20
export const DEFAULT_MAX_PAYLOAD_BYTES = 16 * 1024
/** The largest `maxPayloadBytes` accepted: limits above it protect nothing. */
export const MAX_MAX_PAYLOAD_BYTES = 64 * 1024 * 1024
export const DEFAULT_UPGRADES_PER_IP = 600
export const DEFAULT_MAX_CONNECTIONS_PER_IP = 1000
export const DEFAULT_UPGRADE_WINDOW_MS = 60_000
export const DEFAULT_CONNECTION_TTL_MS = 30_000
export const DEFAULT_REDIS_TIMEOUT_MS = 200
export const DEFAULT_REDIS_PROBE_INTERVAL_MS = 1000
export const DEFAULT_HTTP_MAX = 100
export const DEFAULT_HTTP_TIME_WINDOW_MS = 60_000

export const RateLimitOptions = Type.Object({
  /** Open room connections a user may hold (across instances with Redis); the next is closed 4008. @default 5 */
  maxConnectionsPerUser: Type.Integer({ minimum: 1, default: DEFAULT_MAX_CONNECTIONS_PER_USER }),
  /** Token-bucket refill rate of a user's messages, over all their sockets (and instances); over it closes 4009. @default 10 */
  messagesPerSecond: Type.Number({ exclusiveMinimum: 0, default: DEFAULT_MESSAGES_PER_SECOND }),
  /** Token-bucket size: messages a user may send at once. @default 20 */
  burst: Type.Integer({ minimum: 1, default: DEFAULT_BURST }),
  /** Largest frame accepted, in bytes (a frame of exactly this size is accepted); larger closes 4010. At most 64 MiB. @default 16384 */
  maxPayloadBytes: Type.Integer({ minimum: 1, maximum: MAX_MAX_PAYLOAD_BYTES, default: DEFAULT_MAX_PAYLOAD_BYTES }),
  /**
   * WebSocket upgrade attempts one IP address may make per `upgradeWindowMs`, checked before the
   * upgrade (HTTP 429). Many users may share one address behind a proxy, so keep it generous; set
   * `trustProxy` on Fastify so `request.ip` is the client's. 0 turns the check off. @default 600
   */
  upgradesPerIp: Type.Integer({ minimum: 0, default: DEFAULT_UPGRADES_PER_IP }),
  /** The fixed window of `upgradesPerIp`, in ms. @default 60000 */
  upgradeWindowMs: Type.Integer({ minimum: 1, default: DEFAULT_UPGRADE_WINDOW_MS }),
  /**
   * Open WebSocket connections (and upgrades in progress) one IP address may hold on this
   * instance; one more is refused before the upgrade (HTTP 429). Many users may share one address
   * behind a proxy, so keep it generous and set `trustProxy`. 0 turns the check off. @default 1000
   */
  maxConnectionsPerIp: Type.Integer({ minimum: 0, default: DEFAULT_MAX_CONNECTIONS_PER_IP }),
  /** With Redis: how long a connection slot outlives its instance's last heartbeat (heartbeats run every third of it). @default 30000 */
  connectionTtlMs: Type.Integer({ minimum: 30, default: DEFAULT_CONNECTION_TTL_MS }),
  /** With Redis: how long a limit check waits on Redis before this instance counts in memory instead. @default 200 */
  redisTimeoutMs: Type.Integer({ minimum: 1, default: DEFAULT_REDIS_TIMEOUT_MS }),
  /** With Redis, while falling back: how often Redis is tried again. @default 1000 */
  redisProbeIntervalMs: Type.Integer({ minimum: 1, default: DEFAULT_REDIS_PROBE_INTERVAL_MS }),
  /** Defaults of the HTTP routes that opt in with `config: rateLimited()` (@fastify/rate-limit, per IP, fixed window). */
  http: Type.Object({
    /** Requests per IP address per window and route. @default 100 */
    max: Type.Integer({ minimum: 1, default: DEFAULT_HTTP_MAX }),
    /** The window, in ms. @default 60000 */
    timeWindowMs: Type.Integer({ minimum: 1, default: DEFAULT_HTTP_TIME_WINDOW_MS })
  }, { default: {}, additionalProperties: false })
}, { additionalProperties: false })
export type RateLimitOptions = Static<typeof RateLimitOptions>

/** The outcome of a check: `allowed` means under the limit. */
export interface CheckResult {
  allowed: boolean
  remaining: number
  /** Milliseconds until the next attempt would be allowed (0 when it would be now). */
  resetMs: number
  key: string
}

/** `app.matchcast.limiter`: never throws or rejects; answers whether a user is within its limits. */
export interface Limiter {
  readonly options: RateLimitOptions
  /** Where limits are counted now: `redis` (every instance), or `memory` (this instance only). */
  readonly mode: LimiterMode
  /** Where limits are counted while all is well: `redis` when Redis is configured. */
  readonly backend: LimiterMode
  acquireConnection (userId: string, connectionId: string): Promise<boolean>
  releaseConnection (userId: string, connectionId: string): Promise<void>
  /** Takes one message token of the user. */
  check (userId: string): Promise<CheckResult>
  /** Counts one WebSocket upgrade attempt from `ip` (always allowed when `upgradesPerIp` is 0). */
  checkUpgrade (ip: string): Promise<CheckResult>
}

export function createLimiter (options: RateLimitOptions, store: LimiterStore): Limiter {
  const backend = store.mode
  return {
    options,
    get mode () { return store.mode },
    backend,
    acquireConnection: (userId, connectionId) => store.acquire(userId, connectionId, options.maxConnectionsPerUser),
    releaseConnection: (userId, connectionId) => store.release(userId, connectionId),
    async check (userId) {
      const result = await store.take(userId, options.messagesPerSecond, options.burst)
      return { ...result, key: userId }
    },
    async checkUpgrade (ip) {
      const key = `ip:${ip}`
      if (options.upgradesPerIp === 0) return { allowed: true, remaining: Infinity, resetMs: 0, key }
      const { count, ttlMs } = await store.hit(key, options.upgradeWindowMs)
      const remaining = Math.max(0, options.upgradesPerIp - count)
      return { allowed: count <= options.upgradesPerIp, remaining, resetMs: remaining > 0 ? 0 : ttlMs, key }
    }
  }
}

/** What a readiness check reports about the limiter. */
export interface LimiterStatus {
  mode: LimiterMode
  /** Redis is configured but failing: limits are per instance until it answers again. */
  degraded: boolean
}

/** The limiter's state for `/readyz`: `{ mode, degraded }`. */
export function limiterStatus (app: FastifyInstance): LimiterStatus {
  const { mode, backend } = app.matchcast.limiter
  return { mode, degraded: mode !== backend }
}

/**
 * Route `config` that opts an HTTP route into the HTTP rate limit (per IP, per route, fixed window,
 * shared through Redis when configured); 429 answers in the project's error shape. Without
 * overrides the plugin's `http` options apply:
 *
 *   app.post('/payouts/:id/approve', { config: rateLimited({ max: 20 }) }, handler)
 */
export function rateLimited (overrides: { max?: number, timeWindowMs?: number } = {}): { rateLimit: RouteRateLimitOptions } {
  return {
    rateLimit: {
      ...(overrides.max !== undefined && { max: overrides.max }),
      ...(overrides.timeWindowMs !== undefined && { timeWindow: overrides.timeWindowMs })
    }
  }
}

/**
 * @fastify/rate-limit's store over ours, so HTTP limits share Redis, and its fallback, with the
 * WebSocket limits (its own `redis` option would make every limited route fail while Redis does).
 */
function httpStore (store: LimiterStore) {
  return class HttpRateLimitStore implements FastifyRateLimitStore {
    readonly #scope: string
    constructor (_params: unknown, scope = 'all') {
      this.#scope = scope
    }

    incr (key: string, callback: (error: Error | null, result?: { current: number, ttl: number }) => void, timeWindow: number): void {
      store.hit(`http:${this.#scope}:${key}`, timeWindow).then(({ count, ttlMs }) => callback(null, { current: count, ttl: ttlMs }), callback)
    }

    child (params: Parameters<FastifyRateLimitStore['child']>[0]): FastifyRateLimitStore {
      // At run time @fastify/rate-limit passes the route's merged limit options, with the route as
      // `routeInfo` (its typings say the route itself): one count per route.
      const { method, url } = (params as unknown as { routeInfo: { method: string | string[], url: string } }).routeInfo
      return new HttpRateLimitStore(undefined, `${String(method)}${url}`)
    }
  }
}

const plugin: FastifyPluginAsync<OptionsInput<RateLimitOptions>> = async (app, rawOptions) => {
  const options = parseOptions(RateLimitOptions, rawOptions, 'rateLimit')
  const redis = namespace(app).redis
  const memory = new MemoryLimiterStore()
  const store = redis === undefined
    ? memory
    : new FallbackLimiterStore(
      new RedisLimiterStore({ client: redis.client, key: redis.key, connectionTtlMs: options.connectionTtlMs }),
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
export const matchcastRateLimit = fp(plugin, { name: 'matchcast-rate-limit', fastify: '5.x' })
export default matchcastRateLimit
