import { Type, type Static } from 'typebox'
import { DEFAULT_DOCS_PREFIX } from '../../plugins/openapi/index.js'

/** How long an `Idempotency-Key` is remembered (24 h, as payment APIs commonly do). */
export const DEFAULT_IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000
/** How long an `Idempotency-Key` in flight stays its request's without a renewal (renewed every third of it). */
export const DEFAULT_IDEMPOTENCY_LEASE_MS = 5000
/** A readiness check that has not answered in this time counts as down. */
export const DEFAULT_READINESS_TIMEOUT_MS = 2000
export const REPLAYED_HEADER = 'idempotent-replayed'

/** A route path prefix: empty, or `/segment[/segment…]` without a trailing slash. */
export const PathPrefix = (description: string) => Type.String({ pattern: '^(/[A-Za-z0-9._~-]+)*$', default: '', description })

export const HttpRoutesOptions = Type.Object({
  /** Serve the side routes (matches, payouts, certificates, analytics). @default true */
  routes: Type.Boolean({ default: true }),
  /** Where the side routes are mounted, under the umbrella's `prefix` (e.g. `/api`). @default '' */
  routesPrefix: PathPrefix('Where the side routes are mounted.'),
  /** Serve `/healthz`, `/readyz` and `/metrics` (never rate-limited). @default true */
  ops: Type.Boolean({ default: true }),
  /** Where the ops routes are mounted, under the umbrella's `prefix` (e.g. `/matchcast-ops`). @default '' */
  opsPrefix: PathPrefix('Where the ops routes are mounted.'),
  /** How long an `Idempotency-Key` (per user) is remembered; a key older than this starts afresh. @default 86400000 (24 h) */
  idempotencyTtlMs: Type.Integer({ minimum: 1, default: DEFAULT_IDEMPOTENCY_TTL_MS }),
  /**
   * How long a key whose request is still running stays that request's without a renewal (it is
   * renewed every third of this while the request runs). A request with the same key and body
   * after that (its instance crashed) runs it again; until then it gets a 409. @default 5000
   */
  idempotencyLeaseMs: Type.Integer({ minimum: 100, maximum: 600_000, default: DEFAULT_IDEMPOTENCY_LEASE_MS }),
  /**
   * Serve the documents under `docsPrefix`: the AsyncAPI document of the WebSocket protocol
   * (`asyncapi.json`) and, unless the host registered its own `@fastify/swagger` (the side routes
   * then join the host's document), the OpenAPI document (`json`). @default true
   */
  docs: Type.Boolean({ default: true }),
  /** Where the documents are served, under the umbrella's `prefix`. @default '/docs' */
  docsPrefix: Type.String({ pattern: '^(/[A-Za-z0-9._~-]+)+$', default: DEFAULT_DOCS_PREFIX }),
  /**
   * Swagger UI at `docsPrefix`. Unset: on when matchcast serves its own OpenAPI document, off when
   * the host brought its own `@fastify/swagger` (`true` then shows the host's whole document). @default unset
   */
  docsUi: Type.Optional(Type.Boolean()),
  /** How long `/readyz` waits for the store and Redis before reporting them down. @default 2000 */
  readinessTimeoutMs: Type.Integer({ minimum: 1, default: DEFAULT_READINESS_TIMEOUT_MS }),
  /**
   * Merged into the `config` of every route: the place for per-route plugin settings, e.g.
   * `{ rateLimit: { max: 100, timeWindow: '1 minute' } }` for @fastify/rate-limit. @default {}
   */
  routeConfig: Type.Record(Type.String(), Type.Unknown(), { default: {} })
}, { additionalProperties: false })
export type HttpRoutesOptions = Static<typeof HttpRoutesOptions>
