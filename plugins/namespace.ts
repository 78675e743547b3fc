import type { FastifyInstance } from 'fastify'
import type { Auth } from './auth.js'
import type { MatchEvents } from './broadcast/index.js'
import type { Limiter } from './rate-limit/index.js'
import type { MatchService } from './matches.js'
import type { Store } from './store/store.js'
import type { ConnectionRegistry } from './websocket.js'

/** What the matchcast plugins hang on `app.matchcast`, one field per plugin. */
export interface MatchcastNamespace {
  /** matchcast-auth */
  auth: Auth
  /** matchcast-store */
  store: Store
  /** matchcast-broadcast: the batching decorator. */
  events: MatchEvents
  /** matchcast-matches: applies commands to matches. */
  matches: MatchService
  /** matchcast-websocket: every open room connection of this instance. */
  connections: ConnectionRegistry
  /** matchcast-rate-limit */
  limiter: Limiter
}

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
