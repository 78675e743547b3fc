import fastifySwagger, { type SwaggerTransform } from '@fastify/swagger'
import fastifySwaggerUi from '@fastify/swagger-ui'
import type { FastifyPluginAsync } from 'fastify'
import fp from 'fastify-plugin'
import { RouteCollisionError } from '../../lib/errors.js'
import { asyncapiDocument } from './asyncapi.js'

export const DEFAULT_DOCS_PREFIX = '/docs'
/** The version both documents carry: the protocol's. */
export const VERSION = '1.0.0'
export const BEARER_SCHEME = 'bearerAuth'

export interface OpenapiOptions {
  /** Where Swagger UI is served; the document is at `${routePrefix}/json`. @default '/docs' */
  routePrefix?: string
  /** Swagger UI. Unset: on with matchcast's own document, off when the host brought its own `@fastify/swagger`. @default unset */
  ui?: boolean
}

/** The tags of matchcast's routes, for a host's own OpenAPI document. */
export const OPENAPI_TAGS = [
  { name: 'matches', description: 'Match state and finalize' },
  { name: 'payouts', description: 'Prize payouts (idempotent approve / reject)' },
  { name: 'certificates', description: 'Winner certificates and their public verification' },
  { name: 'analytics', description: 'Organizer analytics' },
  { name: 'ops', description: 'Liveness, readiness, metrics' }
]

/** The security scheme matchcast's routes name. */
export const SECURITY_SCHEMES = { [BEARER_SCHEME]: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } as const

/**
 * A route's `config.swaggerTransform` (a @fastify/swagger feature): leaves the route as it is, and
 * makes sure the OpenAPI document it joins (the host's, say) declares matchcast's tags and bearer scheme.
 */
export const joinDocument: SwaggerTransform = ({ schema, url, ...document }) => {
  if ('openapiObject' in document) {
    const openapi = document.openapiObject
    const schemes = (openapi.components ??= {}).securitySchemes ??= {}
    schemes[BEARER_SCHEME] ??= { ...SECURITY_SCHEMES[BEARER_SCHEME] }
    const tags = openapi.tags ??= []
    for (const tag of OPENAPI_TAGS) if (!tags.some((t) => t.name === tag.name)) tags.push(tag)
  }
  return { schema, url }
}

/** Component names are the schemas' `$id`s (`Match`, `ErrorBody`…), not `def-0`. */
export function buildLocalReference (json: { $id?: unknown }, _baseUri: unknown, _fragment: unknown, i: number): string {
  return typeof json.$id === 'string' ? json.$id : `def-${i}`
}

const plugin: FastifyPluginAsync<OpenapiOptions> = async (app, options) => {
  // A host that documents its own API keeps its @fastify/swagger: our routes join its document
  // (`joinDocument` adds their tags and scheme), and no UI is added unless asked.
  const hosts = app.hasDecorator('swagger')
  if (!hosts) {
    await app.register(fastifySwagger, {
      openapi: {
        openapi: '3.0.3',
        info: {
          title: 'matchcast',
          version: VERSION,
          description: 'HTTP side routes of matchcast: finalize, payouts, certificates, analytics, health. ' +
          'The live match rooms are WebSockets (`/ws/matches/:matchId`, `/ws/tournaments/:tournamentId`): ' +
          `their protocol is the AsyncAPI document at \`${options.routePrefix ?? DEFAULT_DOCS_PREFIX}/asyncapi.json\`.`
        },
        tags: OPENAPI_TAGS,
        components: { securitySchemes: SECURITY_SCHEMES }
      },
      hideUntagged: true,
      refResolver: { buildLocalReference }
    })
  }
  const docs = options.routePrefix ?? DEFAULT_DOCS_PREFIX
  if (options.ui ?? !hosts) {
    // Swagger UI's index route escapes registration errors (the process would crash): check first.
    for (const url of [docs, `${docs}/`]) {
      if (app.hasRoute({ method: 'GET', url: `${app.prefix}${url}` })) throw new RouteCollisionError(`Method 'GET' already declared for route '${app.prefix}${url}': move the docs with \`http.docsPrefix\` or turn them off with \`http.docs: false\``)
    }
    await app.register(fastifySwaggerUi, { routePrefix: docs })
  } else if (!hosts) {
    // Swagger UI serves the OpenAPI document itself; without it, matchcast's own one is served here.
    app.get(`${docs}/json`, { schema: { hide: true } }, async () => app.swagger())
  }

  // The WebSocket protocol, beside the OpenAPI document. Built once per Host header asked for.
  const built = new Map<string, unknown>()
  app.get(`${docs}/asyncapi.json`, { schema: { hide: true } }, async (request) => {
    const protocol = request.protocol === 'https' ? 'wss' : 'ws'
    const key = `${protocol}://${request.host}`
    let document = built.get(key)
    if (document === undefined) {
      if (built.size >= 16) built.clear()
      built.set(key, document = asyncapiDocument({ prefix: app.prefix, host: request.host, protocol, version: VERSION }))
    }
    return document
  })
}

/** The documents: OpenAPI 3 (dynamic, from the route schemas) with Swagger UI, and AsyncAPI 3 of the WebSocket protocol. */
export const matchcastOpenapi = fp(plugin, { name: 'matchcast-openapi', fastify: '5.x', dependencies: [], decorators: {} })
export default matchcastOpenapi
