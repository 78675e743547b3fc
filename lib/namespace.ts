import type { FastifyInstance } from 'fastify'
import type { Auth } from '../plugins/auth/index.js'
import type { MatchEvents } from '../plugins/broadcast/index.js'
import type { Limiter } from '../plugins/rate-limit/index.js'
import type { MatchService } from '../plugins/matches/index.js'
import type { Store } from '../plugins/store/store.js'
import type { ConnectionRegistry } from '../plugins/websocket/index.js'

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
