import { Type, type Static } from 'typebox'
import { InvalidOptionsError } from '../../lib/errors.js'
import { parseOptions } from '../../lib/options.js'

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
/** The default `leaseSize` is `burst` divided by this (rounded down, at least 1). */
export const LEASES_PER_BURST = 4

/** The default `leaseSize` for a `burst`: a quarter of it, rounded down; 1 (no lease) below 8. */
export function defaultLeaseSize (burst: number): number {
  return Math.max(1, Math.floor(burst / LEASES_PER_BURST))
}

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
  /**
   * With Redis: message tokens each instance leases at a time from a user's shared bucket and spends
   * locally, so most messages need no Redis round trip. Costs precision across instances: N
   * instances accept at most `burst + messagesPerSecond·T + N·leaseSize` messages of a user over any
   * T seconds. 0 or 1: no lease, one round trip per message and exactly `burst + messagesPerSecond·T`.
   * At most `burst`. @default a quarter of `burst`, rounded down, at least 1 (5 for the default burst)
   */
  leaseSize: Type.Optional(Type.Integer({ minimum: 0 })),
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
/** The limiter's options once parsed: every default applied, `leaseSize` included. */
export type RateLimitOptions = Omit<Static<typeof RateLimitOptions>, 'leaseSize'> & { leaseSize: number }

/**
 * Parses the plugin's options (`MATCHCAST_ERR_INVALID_OPTS` naming the bad one) and applies the
 * defaults that depend on other options: `leaseSize` from `burst`.
 */
export function parseRateLimitOptions (raw: unknown): RateLimitOptions {
  const { leaseSize, ...options } = parseOptions(RateLimitOptions, raw, 'rateLimit')
  if (leaseSize !== undefined && leaseSize > options.burst) {
    throw new InvalidOptionsError(`rateLimit.leaseSize: must not be above rateLimit.burst (${options.burst})`)
  }
  return { ...options, leaseSize: leaseSize ?? defaultLeaseSize(options.burst) }
}
