import type { FastifyPluginAsync } from 'fastify'
import fp from 'fastify-plugin'
import { namespace } from '../../lib/namespace.js'
import { createMatchService, type MatchService } from './service.js'

declare module '../../lib/namespace.js' {
  interface MatchcastNamespace {
    /** matchcast-matches: applies commands to matches. */
    matches: MatchService
  }
}

const plugin: FastifyPluginAsync = async (app) => {
  const ns = namespace(app)
  ns.matches = createMatchService({ store: ns.timedStore!, events: ns.events!, certificates: ns.certificates!, payouts: ns.payouts! })
}

/** The match command service (`app.matchcast.matches`), shared by WebSocket rooms and HTTP routes. */
export const matchcastMatches = fp(plugin, {
  name: 'matchcast-matches',
  fastify: '5.x',
  dependencies: ['matchcast-store', 'matchcast-broadcast', 'matchcast-certificates', 'matchcast-payouts'],
  decorators: {}
})
export default matchcastMatches
export { createMatchService, type MatchService, type MatchServiceDeps, type CommandResult } from './service.js'
