/**
 * The WebSocket rooms: `GET /ws/matches/:matchId` (`match-room.ts`) and
 * `GET /ws/tournaments/:tournamentId` (`tournament-room.ts`); what both do with a socket is in
 * `session.ts`.
 */
import type { FastifyPluginAsync } from 'fastify'
import fp from 'fastify-plugin'
import matchRoom from './match-room.js'
import tournamentRoom from './tournament-room.js'

const plugin: FastifyPluginAsync = async (app) => {
  await app.register(matchRoom)
  await app.register(tournamentRoom)
}

/** The WebSocket rooms, encapsulated. Needs the auth, store, matches, rate-limit and websocket plugins. */
export const matchcastWsRoutes = fp(plugin, {
  name: 'matchcast-ws-routes',
  fastify: '5.x',
  encapsulate: true,
  dependencies: ['matchcast-auth', 'matchcast-store', 'matchcast-broadcast', 'matchcast-matches', 'matchcast-rate-limit', 'matchcast-websocket'],
  decorators: {}
})
export default matchcastWsRoutes
export { parseCommand } from './parse.js'
