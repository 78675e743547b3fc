import { Type, type Static } from 'typebox'
import { Id, Text } from './common.js'

export const MatchParams = Type.Object({ matchId: Id }, { additionalProperties: false })
export type MatchParams = Static<typeof MatchParams>

export const TournamentParams = Type.Object({ tournamentId: Id }, { additionalProperties: false })
export type TournamentParams = Static<typeof TournamentParams>

/**
 * Query of a match room upgrade: `lastSeq` with the `epoch` of the snapshot it counts from resumes;
 * `lastSeq` without the right epoch gets a `snapshot` with `resync: true`.
 */
export const MatchRoomQuery = Type.Object({
  lastSeq: Type.Optional(Type.Integer({ minimum: 0 })),
  epoch: Text({ maxLength: 64, default: '' })
})
export type MatchRoomQuery = Static<typeof MatchRoomQuery>
