/**
 * matchcast: live, authenticated tournament match rooms over WebSockets for Fastify, and the HTTP
 * routes around a match result. The default export registers every plugin:
 *
 *   await app.register(matchcast, { auth: { secret }, store: memoryStore(seed) })
 */
import type { FastifyPluginAsync } from 'fastify'
import fp from 'fastify-plugin'
import type pg from 'pg'
import { Type } from 'typebox'
import matchcastAuth, { type AuthOptions } from './plugins/auth/index.js'
import matchcastBroadcast, { type BroadcastOptions } from './plugins/broadcast/index.js'
import { RouteCollisionError } from './lib/errors.js'
import matchcastCertificates, { type CertificatesOptions } from './plugins/certificates/index.js'
import matchcastMatches from './plugins/matches/index.js'
import matchcastPayouts from './plugins/payouts/index.js'
import matchcastMetrics, { type MetricsOptions } from './plugins/metrics/index.js'
import { parseOptions, type OptionsInput } from './lib/options.js'
import matchcastRateLimit, { type RateLimitOptions } from './plugins/rate-limit/index.js'
import matchcastRedis, { type RedisOptions } from './plugins/redis/index.js'
import matchcastStore from './plugins/store/index.js'
import type { Store } from './plugins/store/store.js'
import matchcastWebsocket, { type WebsocketOptions } from './plugins/websocket/index.js'
import httpRoutes, { HttpRoutesOptions } from './routes/http/index.js'
import wsRoutes from './routes/ws/index.js'

export interface MatchcastOptions {
  /**
   * Where everything matchcast serves is mounted: rooms, side routes, docs, ops (e.g. `/matchcast`).
   * @default '' (the root)
   */
  prefix?: string
  /** JWT settings; `secret` is required unless the host registered its own `@fastify/jwt` first. */
  auth?: Partial<AuthOptions>
  /** The host's data. @default an empty `memoryStore()` */
  store?: Store
  /** PostgreSQL instead of `store`: a `postgres://` URL (its pool is ended on close) or a `pg.Pool` of yours (left open). */
  database?: string | pg.Pool | undefined
  /**
   * How long a store call on a request or admission path may take; one that has not answered by
   * then fails with `MATCHCAST_ERR_STORE_TIMEOUT`: HTTP 503, or close 1011 while admitting a room
   * connection. @default 5000
   */
  storeTimeoutMs?: number
  /** Redis URL or ioredis client: rooms, sequences and limits are then shared by every instance. @default unset (single instance, in memory) */
  redis?: RedisOptions['redis'] | undefined
  /** Prefix of every Redis key and channel. @default 'matchcast' */
  keyPrefix?: string
  batching?: Partial<BroadcastOptions['batching']>
  history?: Partial<BroadcastOptions['history']>
  /** The outbox relay: how long an instance's committed events are its own to relay, how often undone ones are swept. */
  outbox?: Partial<BroadcastOptions['outbox']>
  /** Connection, message-rate, payload, per-IP upgrade and HTTP route limits (see `RateLimitOptions`). */
  rateLimit?: OptionsInput<RateLimitOptions>
  heartbeat?: Partial<WebsocketOptions['heartbeat']>
  /** Slow consumers: send-buffer high-water mark (skip + resync) and hard limit (close 4012). */
  backpressure?: Partial<WebsocketOptions['backpressure']>
  allowedOrigins?: string[]
  closeGraceMs?: number
  transportMaxPayloadBytes?: number
  /** Certificates: `privateKey` (Ed25519 PEM; @default a key generated at start), `publicUrl` (printed and in the QR code), `issuer`. */
  certificates?: Partial<CertificatesOptions>
  /**
   * How long the reply to a WebSocket command `id` is remembered per user and match (in Redis when
   * Redis is used): the same command with the same id is answered with it and not applied again. 0
   * remembers nothing. @default 300000
   */
  commandIdTtlMs?: number
  /** HTTP side routes: which areas are served and where (routes, docs, ops), idempotency-key lifetime, readiness timeout, per-route config (see `HttpRoutesOptions`). */
  http?: OptionsInput<HttpRoutesOptions>
  /** Prometheus: `registry` puts matchcast's metrics in the host's prom-client registry. @default a registry of matchcast's own */
  metrics?: MetricsOptions
}

/** Top-level keys only; each plugin checks its own part, so errors name e.g. `batching.windowMs`. */
const TopLevel = Type.Object({
  prefix: Type.Optional(Type.String({ pattern: '^(/[A-Za-z0-9._~-]+)*$' })),
  auth: Type.Optional(Type.Unknown()),
  metrics: Type.Optional(Type.Unknown()),
  store: Type.Optional(Type.Unknown()),
  redis: Type.Optional(Type.Unknown()),
  keyPrefix: Type.Optional(Type.Unknown()),
  batching: Type.Optional(Type.Unknown()),
  history: Type.Optional(Type.Unknown()),
  outbox: Type.Optional(Type.Unknown()),
  rateLimit: Type.Optional(Type.Unknown()),
  heartbeat: Type.Optional(Type.Unknown()),
  backpressure: Type.Optional(Type.Unknown()),
  allowedOrigins: Type.Optional(Type.Unknown()),
  closeGraceMs: Type.Optional(Type.Unknown()),
  transportMaxPayloadBytes: Type.Optional(Type.Unknown()),
  certificates: Type.Optional(Type.Unknown()),
  database: Type.Optional(Type.Unknown()),
  commandIdTtlMs: Type.Optional(Type.Unknown()),
  storeTimeoutMs: Type.Optional(Type.Unknown()),
  http: Type.Optional(Type.Unknown())
}, { additionalProperties: false })

const plugin: FastifyPluginAsync<MatchcastOptions> = async (app, options) => {
  parseOptions(TopLevel, options, '')
  await app.register(matchcastAuth, options.auth ?? {})
  if (options.redis !== undefined) {
    await app.register(matchcastRedis, { redis: options.redis, ...(options.keyPrefix !== undefined && { keyPrefix: options.keyPrefix }) })
  }
  await app.register(matchcastStore, {
    ...(options.store !== undefined && { store: options.store }),
    ...(options.database !== undefined && { database: options.database }),
    ...(options.storeTimeoutMs !== undefined && { timeoutMs: options.storeTimeoutMs })
  })
  await app.register(matchcastBroadcast, { batching: options.batching ?? {}, history: options.history ?? {}, outbox: options.outbox ?? {} })
  await app.register(matchcastRateLimit, options.rateLimit ?? {})
  await app.register(matchcastCertificates, options.certificates ?? {})
  await app.register(matchcastPayouts)
  await app.register(matchcastMatches, options.commandIdTtlMs === undefined ? {} : { commandIdTtlMs: options.commandIdTtlMs })
  await app.register(matchcastWebsocket, {
    heartbeat: options.heartbeat ?? {},
    backpressure: options.backpressure ?? {},
    ...(options.allowedOrigins !== undefined && { allowedOrigins: options.allowedOrigins }),
    ...(options.closeGraceMs !== undefined && { closeGraceMs: options.closeGraceMs }),
    ...(options.transportMaxPayloadBytes !== undefined && { transportMaxPayloadBytes: options.transportMaxPayloadBytes })
  })
  await app.register(matchcastMetrics, options.metrics ?? {})
  // Every route under one prefix; a route the host already serves fails `ready()` naming it.
  const routes: FastifyPluginAsync = async (scope) => {
    await scope.register(wsRoutes)
    await scope.register(httpRoutes, options.http ?? {})
  }
  try {
    await app.register(routes, { prefix: options.prefix ?? '' })
  } catch (err) {
    explainCollision(err as Error)
  }
}

/** A route matchcast would serve twice: the error says which and how to move or drop it. */
function explainCollision (err: Error & { code?: string }): never {
  if (err.code !== 'FST_ERR_DUPLICATED_ROUTE') throw err
  throw new RouteCollisionError(`${err.message}: mount matchcast elsewhere with \`prefix\`, or move or turn off the area ` +
    '(`http.routesPrefix`/`http.routes`, `http.opsPrefix`/`http.ops`, `http.docsPrefix`/`http.docs`)')
}

/** The umbrella plugin: every matchcast plugin and route, registered in order. */
const matchcast = fp(plugin, { name: 'matchcast', fastify: '5.x' })
export default matchcast
export { matchcast }

export { matchcastAuth, matchcastBroadcast, matchcastCertificates, matchcastMatches, matchcastPayouts, matchcastRateLimit, matchcastRedis, matchcastStore, matchcastWebsocket, wsRoutes as matchcastWsRoutes }
export { memoryStore, MemoryStore } from './plugins/store/memory-store.js'
export { postgresStore, PostgresStore, type PostgresStoreOptions } from './plugins/store/postgres-store.js'
export { matchcastMetrics, type MatchcastMetrics, type MetricsOptions } from './plugins/metrics/index.js'
export { matchcastOpenapi } from './plugins/openapi/index.js'
export { httpRoutes as matchcastHttpRoutes, HttpRoutesOptions }
export { errorHandler, toErrorBody } from './routes/http/error-handler.js'
export { renderCertificatePdf } from './plugins/certificates/pdf.js'
export type { Store, MatchPatch, IdempotencyBegin, StoredResponse, Retirement, OutboxEntry, Lease } from './plugins/store/store.js'
export type { Broker, StreamPosition, EventHandler, RelayBatch, RelayResult } from './plugins/broadcast/broker.js'
export { MemoryBroker } from './plugins/broadcast/memory-broker.js'
export { Batcher } from './plugins/broadcast/batcher.js'
export { createMatchService, CommandIds, RedisCommandIds, type MatchService, type CommandResult, type Outcome, type SharedCommandIds } from './plugins/matches/index.js'
export { decide, decideWinner, mayIssue, RULES, type Actor } from './plugins/matches/machine.js'
export { createCertificateSigner, canonicalCertificate, CANONICAL_TAG, type CertificateSigner, type CertificateFields } from './plugins/certificates/signer.js'
export { createCertificates, signedFields, type Certificates, type CertificateStatus, type CertificatesOptions } from './plugins/certificates/index.js'
export { shortCodeOf, parseShortCode } from './plugins/certificates/codes.js'
export { verificationPage } from './plugins/certificates/page.js'
export { createPayouts, type Payouts, type PayoutDecision } from './plugins/payouts/index.js'
export { CommandError } from './lib/errors.js'
export {
  AbnormalClosure, CloseCode, closeCodeByName, closeCodeByNumber, WS_ERROR_CODES, type CloseCodeEntry, type CloseCodeInfo, type CloseCodeName, type Reconnect
} from './protocol/index.js'
export { SUBPROTOCOL } from './plugins/auth/index.js'
export { socketErrorHandler } from './plugins/websocket/index.js'
export { createLimiter, limiterStatus, rateLimited, type Limiter, type LimiterStatus, type CheckResult, type RateLimitOptions } from './plugins/rate-limit/index.js'
export type { LimiterStore, LimiterMode, HitResult } from './plugins/rate-limit/store.js'
export { MemoryLimiterStore } from './plugins/rate-limit/memory-store.js'
export { RedisLimiterStore } from './plugins/rate-limit/redis-store.js'
export { FallbackLimiterStore } from './plugins/rate-limit/fallback-store.js'
export type { MatchcastNamespace } from './lib/namespace.js'
export * from './schemas/common.js'
export * from './schemas/messages.js'
