/** `GET /tournaments/:tournamentId/analytics/summary`: the organizer's figures of a tournament. */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifyPluginAsync } from 'fastify'
import { summarize } from '../../plugins/matches/analytics.js'
import { namesOf } from '../../plugins/matches/service.js'
import { AnalyticsSummary, errors } from '../../schemas/http.js'
import { TournamentParams } from '../../schemas/params.js'
import type { RouteContext } from './access.js'

const analytics: FastifyPluginAsync<RouteContext> = async (instance, ctx) => {
  const app = instance.withTypeProvider<TypeBoxTypeProvider>()
  const { timedStore: store, connections } = app.matchcast
  const { secured, bearer, userOf, tournamentAsOrganizer } = ctx

  app.get('/tournaments/:tournamentId/analytics/summary', {
    ...secured,
    schema: {
      summary: 'Organizer analytics of a tournament',
      description: 'Matches by state, participants, each player\'s matches and wins (by name), average match duration, open disputes, payouts by status and amount, live connections.',
      tags: ['analytics'],
      security: bearer,
      params: TournamentParams,
      response: { 200: AnalyticsSummary, ...errors([400, 401, 403, 404, 429]) }
    }
  }, async (request) => {
    const { tournamentId } = request.params
    await tournamentAsOrganizer(tournamentId, userOf(request))
    const [list, members, payouts] = await Promise.all([store.listMatches(tournamentId), store.listMembers(tournamentId), store.listPayouts(tournamentId)])
    const watching = list.reduce((n, m) => n + connections.rooms.size(m.id), 0)
    const names = await namesOf(store, [...new Set(list.flatMap((m) => m.participants))])
    return summarize(tournamentId, list, members.filter((m) => m.role === 'participant').length, payouts,
      { instance: connections.size, tournament: watching }, new Date(), names)
  })
}

export default analytics
