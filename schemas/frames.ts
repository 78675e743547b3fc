/**
 * The frames the server sends on a room socket: snapshots, replies (ack, pong, error) and events,
 * alone or batched. Each type is `Static<>` of its schema.
 */
import { Type, type Static } from 'typebox'
import { CommandId } from './commands.js'
import { Id, Match, NamesOf, Role } from './common.js'
import { MatchEvent, MatchEvents } from './events.js'
import { WS_ERRORS, type WsErrorCode as ErrorCodeName } from '../protocol/error-codes.js'

export const MatchSnapshotFrame = Type.Object({
  type: Type.Literal('snapshot'),
  matchId: Id,
  seq: Type.Integer({ minimum: 0, description: 'The last event already reflected in `match`.' }),
  epoch: Type.String({ description: 'Names the match\'s sequence; changes if the sequence restarts.' }),
  role: Role,
  match: Match,
  names: Type.Optional(NamesOf('Display name of each participant (the id for one without a name).')),
  resync: Type.Optional(Type.Literal(true))
}, { additionalProperties: false })
export type MatchSnapshotFrame = Static<typeof MatchSnapshotFrame>

export const TournamentSnapshotFrame = Type.Object({
  type: Type.Literal('snapshot'),
  tournamentId: Id,
  role: Role,
  matches: Type.Array(Match),
  seqs: Type.Record(Type.String(), Type.Integer({ minimum: 0 }), { description: 'Match id → last event reflected in that match.' }),
  epochs: Type.Record(Type.String(), Type.String(), { description: 'Match id → the epoch its seq counts in (a match room resumes with both).' }),
  names: Type.Optional(NamesOf('Display name of each participant of these matches (the id for one without a name).')),
  resync: Type.Optional(Type.Literal(true))
}, { additionalProperties: false })
export type TournamentSnapshotFrame = Static<typeof TournamentSnapshotFrame>

export const AckFrame = Type.Object({ type: Type.Literal('ack'), id: Type.Optional(CommandId) }, { additionalProperties: false })
export type AckFrame = Static<typeof AckFrame>

export const PongFrame = Type.Object({ type: Type.Literal('pong'), id: Type.Optional(CommandId) }, { additionalProperties: false })
export type PongFrame = Static<typeof PongFrame>

export { WS_ERRORS }
/** The code of an error frame (`protocol/error-codes.ts` lists them). */
export type WsErrorCode = ErrorCodeName
export const WsErrorCode = Type.Unsafe<WsErrorCode>(Type.Union(Object.keys(WS_ERRORS).map((code) => Type.Literal(code)), { $id: 'WsErrorCode' }))

export const ErrorDetail = Type.Object({ path: Type.String(), message: Type.String() }, { additionalProperties: false })
export type ErrorDetail = Static<typeof ErrorDetail>

export const ErrorFrame = Type.Object({
  type: Type.Literal('error'),
  id: Type.Optional(CommandId),
  code: WsErrorCode,
  message: Type.String(),
  details: Type.Optional(Type.Array(ErrorDetail))
}, { additionalProperties: false })
export type ErrorFrame = Static<typeof ErrorFrame>

export const BatchFrame = Type.Object({
  type: Type.Literal('batch'),
  matchId: Id,
  events: Type.Array(MatchEvent, { minItems: 2 })
}, { additionalProperties: false })
export type BatchFrame = Static<typeof BatchFrame>

/** Every frame the server may send. */
export type ServerFrame = MatchSnapshotFrame | TournamentSnapshotFrame | AckFrame | PongFrame | ErrorFrame | BatchFrame | MatchEvent
export const ServerFrame = Type.Unsafe<ServerFrame>(Type.Union([
  MatchSnapshotFrame, TournamentSnapshotFrame, AckFrame, PongFrame, ErrorFrame, BatchFrame, ...Object.values(MatchEvents)
], { $id: 'ServerFrame' }))
