/**
 * The HTTP side routes around a match result (SPEC section 6), one plugin per resource under this
 * encapsulated parent: it owns what they share (the error handler, TypeBox validation, the shared
 * schemas and docs, the auth guard and the rate-limit config). Every schema comes from
 * `schemas/http.ts` and feeds both validation and the OpenAPI document (`/docs/json`).
 */
import { TypeBoxValidatorCompiler } from '@fastify/type-provider-typebox'
import type { FastifyPluginAsync } from 'fastify'
import fp from 'fastify-plugin'
import { parseOptions, type OptionsInput } from '../../lib/options.js'
import { joinDocument, matchcastOpenapi } from '../../plugins/openapi/index.js'
import { IdempotencyPruner } from '../../plugins/store/idempotency.js'
import { rateLimited } from '../../plugins/rate-limit/index.js'
import { SHARED_SCHEMAS } from '../../schemas/http.js'
import { routeContext } from './access.js'
import analytics from './analytics.js'
import certificates from './certificates.js'
import { errorHandler } from './error-handler.js'
import matches from './matches.js'
import { lazySerializers } from '../../lib/serializers.js'
import ops from './ops.js'
import { HttpRoutesOptions } from './options.js'
import payouts from './payouts.js'

const plugin: FastifyPluginAsync<OptionsInput<HttpRoutesOptions>> = async (app, rawOptions) => {
  const options = parseOptions(HttpRoutesOptions, rawOptions, 'http')
  app.setErrorHandler(errorHandler)
  // TypeBox validates the requests (as it does WebSocket commands): unknown fields are a 400, not dropped.
  app.setValidatorCompiler(TypeBoxValidatorCompiler)
  // Each response serializer is built on the route's first response, not at start.
  lazySerializers(app)
  // A participant id may be `__proto__`, so a score keyed by it is kept as an ordinary own key
  // rather than refused; matchcast reads only own keys, and the schemas refuse keys they do not name.
  app.addContentTypeParser('application/json', { parseAs: 'string' }, app.getDefaultJsonParser('ignore', 'ignore'))
  for (const schema of SHARED_SCHEMAS) app.addSchema(schema)
  // Only matchcast's own routes are timed, never the host's.
  app.addHook('onResponse', app.matchcast.metrics.observeHttp)
  if (options.docs) await app.register(matchcastOpenapi, { routePrefix: options.docsPrefix, ...(options.docsUi !== undefined && { ui: options.docsUi }) })

  // Side routes are limited per IP by default (@fastify/rate-limit as registered by
  // matchcast-rate-limit: shared through Redis when configured, `rateLimit.http.*`). Explicit
  // limits give each route its own count (an empty config would share one per IP).
  const { max, timeWindowMs } = app.matchcast.limiter.options.http
  // Expired idempotency keys are deleted when due, never on an idle schedule.
  const pruner = new IdempotencyPruner(app.matchcast.store, options.idempotencyTtlMs,
    (err) => app.log.error({ err }, 'matchcast: pruning expired idempotency keys failed'))
  app.addHook('onClose', async () => pruner.close())
  // `joinDocument` keeps the OpenAPI document these routes join (the host's, say) valid: tags and bearer scheme.
  const context = routeContext(app, options, { ...rateLimited({ max, timeWindowMs }), swaggerTransform: joinDocument, ...options.routeConfig }, pruner)
  if (options.routes) {
    for (const resource of [matches, payouts, certificates, analytics]) await app.register(resource, { ...context, prefix: options.routesPrefix })
  }
  if (options.ops) await app.register(ops, { ...context, prefix: options.opsPrefix })
}

/**
 * The HTTP side routes (SPEC section 6), encapsulated: their error handler, schemas and docs stay
 * in this plugin's scope. Needs the auth, store, matches, payouts, certificates, rate-limit,
 * websocket and metrics plugins.
 */
export const matchcastHttpRoutes = fp(plugin, {
  name: 'matchcast-http-routes',
  fastify: '5.x',
  encapsulate: true,
  dependencies: ['matchcast-auth', 'matchcast-store', 'matchcast-matches', 'matchcast-payouts', 'matchcast-certificates',
    'matchcast-rate-limit', 'matchcast-websocket', 'matchcast-metrics'],
  decorators: {}
})
export default matchcastHttpRoutes
export { HttpRoutesOptions, DEFAULT_IDEMPOTENCY_TTL_MS, DEFAULT_READINESS_TIMEOUT_MS, REPLAYED_HEADER } from './options.js'
export { canonical, fingerprint } from '../../plugins/store/idempotency.js'
export { summarize } from '../../plugins/matches/analytics.js'
