/** `GET /matches/:matchId` and `POST /matches/:matchId/finalize`. */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifyPluginAsync } from 'fastify'
import { Type } from 'typebox'
import { FinalizeBody, FinalizeResponse, errors } from '../../schemas/http.js'
import { MatchParams } from '../../schemas/params.js'
import type { RouteContext } from './access.js'

const matches: FastifyPluginAsync<RouteContext> = async (instance, ctx) => {
  const app = instance.withTypeProvider<TypeBoxTypeProvider>()
  const { secured, bearer, userOf, roleIn, matchOf } = ctx

  app.get('/matches/:matchId', {
    ...secured,
    schema: {
      summary: 'The match\'s current state',
      description: 'Any member of the match\'s tournament may read it.',
      tags: ['matches'],
      security: bearer,
      params: MatchParams,
      response: { 200: Type.Ref('Match', { description: 'The match.' }), ...errors([400, 401, 403, 404, 429]) }
    }
  }, async (request) => {
    const match = await matchOf(request.params.matchId)
    await roleIn(match.tournamentId, userOf(request))
    return match
  })

  app.post('/matches/:matchId/finalize', {
    ...secured,
    schema: {
      summary: 'Finalize a match: decide the winner, issue the certificate and the payout',
      description: 'The winner is `winnerId`, or else the participant with the highest score (a tie without `winnerId` is a 400). ' +
        'Completes the match, broadcasts `match_completed` to its rooms, issues the winner\'s certificate and, when the match ' +
        'has a prize, a pending payout: all or nothing. The same code path and guarantees as the WebSocket `match.finalize`: ' +
        'of two racing finalizes exactly one wins, the other gets a 409.',
      tags: ['matches'],
      security: bearer,
      params: MatchParams,
      body: FinalizeBody,
      response: { 200: FinalizeResponse, ...errors([400, 401, 403, 404, 409, 429]) }
    }
  }, async (request) => {
    const { matchId } = request.params
    const match = await matchOf(matchId)
    const role = await roleIn(match.tournamentId, userOf(request))
    const { scores, winnerId } = request.body
    const result = await app.matchcast.matches.execute(matchId, { userId: userOf(request), role },
      { type: 'match.finalize', scores, ...(winnerId !== undefined && { winnerId }) })
    const certificate = result.certificate!
    return {
      match: result.match,
      certificate: { id: certificate.id, code: certificate.code, shortCode: certificate.shortCode },
      ...(result.payout !== undefined && { payout: result.payout })
    }
  })
}

export default matches
