import type { FastifyInstance } from 'fastify'
import type { RateLimitOptions as RouteRateLimitOptions } from '@fastify/rate-limit'
import { CloseCode, type CloseCodeInfo } from '../../lib/errors.js'
import type { RateLimitOptions } from './options.js'
import type { LimiterMode, LimiterStore } from './store.js'

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
  /**
   * Takes one message token of the user. With Redis and a lease (`leaseSize`), most checks are
   * answered from the tokens this instance leased, without a round trip.
   */
  check (userId: string): Promise<CheckResult>
  /** Counts one WebSocket upgrade attempt from `ip` (always allowed when `upgradesPerIp` is 0). */
  checkUpgrade (ip: string): Promise<CheckResult>
  /**
   * Admits a room connection of `userId`: `undefined`, or the close code to refuse it with (4008).
   * An admitted connection's slot is freed by `releaseConnection`.
   */
  admit (userId: string, connectionId: string): Promise<CloseCodeInfo | undefined>
  /** Counts one inbound frame of `bytes`: `undefined`, or the close code to close its socket with (4010, 4009). */
  frame (userId: string, bytes: number): Promise<CloseCodeInfo | undefined>
  /** The verdict on a frame that arrives before its connection is admitted (see `earlyFrameVerdict`). */
  readonly earlyFrame: EarlyFrameVerdict
}

/**
 * The verdict on a frame that arrives before its connection is admitted (it would wait in memory):
 * `undefined`, or the code to close with.
 */
export type EarlyFrameVerdict = (queued: { frames: number, bytes: number }, bytes: number) => CloseCodeInfo | undefined

/** The byte cap of the early queue: this, or one frame of `maxPayloadBytes` when that is larger. */
export const EARLY_MAX_BYTES = 64 * 1024

/**
 * Frames sent before admission are bounded, so a client cannot pile up work or memory while its
 * admission waits: one over `maxPayloadBytes` closes 4010 at once; more than `burst` frames (more
 * would be over the rate anyway) or more than `EARLY_MAX_BYTES` waiting close 4009.
 */
export function earlyFrameVerdict ({ maxPayloadBytes, burst }: Pick<RateLimitOptions, 'maxPayloadBytes' | 'burst'>): EarlyFrameVerdict {
  const maxBytes = Math.max(EARLY_MAX_BYTES, maxPayloadBytes)
  return (queued, bytes) => {
    if (bytes > maxPayloadBytes) return CloseCode.payloadTooLarge
    if (queued.frames >= burst || queued.bytes + bytes > maxBytes) return CloseCode.rateLimited
    return undefined
  }
}

export function createLimiter (options: RateLimitOptions, store: LimiterStore): Limiter {
  const backend = store.mode
  const take = (userId: string) => store.take(userId, options.messagesPerSecond, options.burst)
  const limiter: Limiter = {
    options,
    get mode () { return store.mode },
    backend,
    acquireConnection: (userId, connectionId) => store.acquire(userId, connectionId, options.maxConnectionsPerUser),
    releaseConnection: (userId, connectionId) => store.release(userId, connectionId),
    async check (userId) {
      return { ...await take(userId), key: userId }
    },
    async checkUpgrade (ip) {
      const key = `ip:${ip}`
      if (options.upgradesPerIp === 0) return { allowed: true, remaining: Infinity, resetMs: 0, key }
      const { count, ttlMs } = await store.hit(key, options.upgradeWindowMs)
      const remaining = Math.max(0, options.upgradesPerIp - count)
      return { allowed: count <= options.upgradesPerIp, remaining, resetMs: remaining > 0 ? 0 : ttlMs, key }
    },
    async admit (userId, connectionId) {
      return await limiter.acquireConnection(userId, connectionId) ? undefined : CloseCode.tooManyConnections
    },
    earlyFrame: earlyFrameVerdict(options),
    // On every frame: the store's answer directly, without `check`'s copy of it.
    async frame (userId, bytes) {
      if (bytes > options.maxPayloadBytes) return CloseCode.payloadTooLarge
      return (await take(userId)).allowed ? undefined : CloseCode.rateLimited
    }
  }
  return limiter
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
