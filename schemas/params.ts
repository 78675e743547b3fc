import { Type, type Static } from 'typebox'
import { Id, IdLike, Text } from './common.js'

export const MatchParams = Type.Object({ matchId: IdLike('m1') }, { additionalProperties: false })
export type MatchParams = Static<typeof MatchParams>

export const TournamentParams = Type.Object({ tournamentId: IdLike('t1') }, { additionalProperties: false })
export type TournamentParams = Static<typeof TournamentParams>

// The rooms' parameters: the same ids, without the docs' `example` (the upgrade routes are
// validated by Fastify's own Ajv, which refuses keywords it does not know).
export const MatchRoomParams = Type.Object({ matchId: Id }, { additionalProperties: false })
export const TournamentRoomParams = Type.Object({ tournamentId: Id }, { additionalProperties: false })

/**
 * Query of a match room upgrade: `lastSeq` with the `epoch` of the snapshot it counts from resumes;
 * `lastSeq` without the right epoch gets a `snapshot` with `resync: true`.
 */
export const MatchRoomQuery = Type.Object({
  lastSeq: Type.Optional(Type.Integer({ minimum: 0 })),
  epoch: Text({ maxLength: 64, default: '' })
})
export type MatchRoomQuery = Static<typeof MatchRoomQuery>
