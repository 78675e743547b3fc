import fastifySwagger from '@fastify/swagger'
import fastifySwaggerUi from '@fastify/swagger-ui'
import type { FastifyPluginAsync } from 'fastify'
import fp from 'fastify-plugin'

export const DEFAULT_DOCS_PREFIX = '/docs'
export const BEARER_SCHEME = 'bearerAuth'

export interface OpenapiOptions {
  /** Where Swagger UI is served; the document is at `${routePrefix}/json`. @default '/docs' */
  routePrefix?: string
}

/** Component names are the schemas' `$id`s (`Match`, `ErrorBody`…), not `def-0`. */
export function buildLocalReference (json: { $id?: unknown }, _baseUri: unknown, _fragment: unknown, i: number): string {
  return typeof json.$id === 'string' ? json.$id : `def-${i}`
}

const plugin: FastifyPluginAsync<OpenapiOptions> = async (app, options) => {
  // A host that documents its own API keeps its @fastify/swagger; our routes then join its document
  // (it must declare the `bearerAuth` security scheme they name).
  if (app.hasDecorator('swagger')) return
  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'matchcast',
        version: '0.1.0',
        description: 'HTTP side routes of matchcast: finalize, payouts, certificates, analytics, health. ' +
          'The live match rooms are WebSockets (`/ws/matches/:matchId`, `/ws/tournaments/:tournamentId`), described in the README.'
      },
      tags: [
        { name: 'matches', description: 'Match state and finalize' },
        { name: 'payouts', description: 'Prize payouts (idempotent approve / reject)' },
        { name: 'certificates', description: 'Winner certificates and their public verification' },
        { name: 'analytics', description: 'Organizer analytics' },
        { name: 'ops', description: 'Liveness, readiness, metrics' }
      ],
      components: {
        securitySchemes: { [BEARER_SCHEME]: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } }
      }
    },
    hideUntagged: true,
    refResolver: { buildLocalReference }
  })
  await app.register(fastifySwaggerUi, { routePrefix: options.routePrefix ?? DEFAULT_DOCS_PREFIX })
}

/** OpenAPI 3 document (dynamic, from the route schemas) and Swagger UI. */
export const matchcastOpenapi = fp(plugin, { name: 'matchcast-openapi', fastify: '5.x', dependencies: [], decorators: {} })
export default matchcastOpenapi
