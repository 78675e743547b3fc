import { Type, type Static } from 'typebox'
import { DEFAULT_DOCS_PREFIX } from '../../plugins/openapi/index.js'

/** How long an `Idempotency-Key` is remembered (24 h, as payment APIs commonly do). */
export const DEFAULT_IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000
/** How long an `Idempotency-Key` in flight stays its request's without a renewal (renewed every third of it). */
export const DEFAULT_IDEMPOTENCY_LEASE_MS = 5000
/** A readiness check that has not answered in this time counts as down. */
export const DEFAULT_READINESS_TIMEOUT_MS = 2000
export const REPLAYED_HEADER = 'idempotent-replayed'

export const HttpRoutesOptions = Type.Object({
  /** How long an `Idempotency-Key` (per user) is remembered; a key older than this starts afresh. @default 86400000 (24 h) */
  idempotencyTtlMs: Type.Integer({ minimum: 1, default: DEFAULT_IDEMPOTENCY_TTL_MS }),
  /**
   * How long a key whose request is still running stays that request's without a renewal (it is
   * renewed every third of this while the request runs). A request with the same key and body
   * after that (its instance crashed) runs it again; until then it gets a 409. @default 5000
   */
  idempotencyLeaseMs: Type.Integer({ minimum: 100, maximum: 600_000, default: DEFAULT_IDEMPOTENCY_LEASE_MS }),
  /** Serve Swagger UI and the OpenAPI document. @default true */
  docs: Type.Boolean({ default: true }),
  /** Where Swagger UI is served; the document is at `${docsPrefix}/json`. @default '/docs' */
  docsPrefix: Type.String({ pattern: '^/[A-Za-z0-9/_-]*$', default: DEFAULT_DOCS_PREFIX }),
  /** How long `/readyz` waits for the store and Redis before reporting them down. @default 2000 */
  readinessTimeoutMs: Type.Integer({ minimum: 1, default: DEFAULT_READINESS_TIMEOUT_MS }),
  /**
   * Merged into the `config` of every route: the place for per-route plugin settings, e.g.
   * `{ rateLimit: { max: 100, timeWindow: '1 minute' } }` for @fastify/rate-limit. @default {}
   */
  routeConfig: Type.Record(Type.String(), Type.Unknown(), { default: {} })
}, { additionalProperties: false })
export type HttpRoutesOptions = Static<typeof HttpRoutesOptions>
