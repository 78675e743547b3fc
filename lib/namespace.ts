import type { FastifyInstance } from 'fastify'

/**
 * What the matchcast plugins hang on `app.matchcast`, one field per plugin. Empty here: each plugin
 * adds its own field, next to the code that fills it, with
 * `declare module '…/lib/namespace.js' { interface MatchcastNamespace { field: Type } }`,
 * so no plugin has to edit this file and nothing here imports a plugin.
 */

export interface MatchcastNamespace {}

declare module 'fastify' {
  interface FastifyInstance {
    matchcast: MatchcastNamespace
  }
}

/**
 * The one decorator every matchcast plugin hangs its part on: `app.matchcast`. Created by the first
 * plugin that needs it; each plugin fills in its own field.
 */
export function namespace (app: FastifyInstance): Partial<MatchcastNamespace> {
  if (!app.hasDecorator('matchcast')) app.decorate('matchcast', {} as MatchcastNamespace)
  return app.matchcast
}
