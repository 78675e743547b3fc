/**
 * The WebSocket protocol: every client command and every server frame, as TypeBox schemas.
 * Each TypeScript type of a frame is `Static<>` of its schema; nothing else defines them.
 */
import { Type, type Static, type TSchema } from 'typebox'
import { Id, Match, MatchState, Role, Scores, Text, Timestamp } from './common.js'

/** Optional correlation id a client may put on a command; echoed in the reply. */
export const CommandId = Type.Union([Text({ maxLength: 64 }), Type.Integer()])
export type CommandId = Static<typeof CommandId>

const Reason = Text({ minLength: 1, maxLength: 500 })

function command<K extends string, P extends Record<string, TSchema>> (type: K, props: P) {
  return Type.Object({ type: Type.Literal(type), id: Type.Optional(CommandId), ...props }, { additionalProperties: false })
}

export const PingCommand = command('ping', {})
export const StartCommand = command('match.start', {})
export const ScoreUpdateCommand = command('score.update', { scores: Scores })
export const ResultReportCommand = command('result.report', { scores: Scores })
export const DisputeCommand = command('match.dispute', { reason: Reason })
export const FinalizeCommand = command('match.finalize', { scores: Scores, winnerId: Type.Optional(Id) })
export const CancelCommand = command('match.cancel', { reason: Reason })

/** Every command by its `type`: the validator picks the schema by type first, so errors name the right fields. */
export const Commands = {
  ping: PingCommand,
  'match.start': StartCommand,
  'score.update': ScoreUpdateCommand,
  'result.report': ResultReportCommand,
  'match.dispute': DisputeCommand,
  'match.finalize': FinalizeCommand,
  'match.cancel': CancelCommand
} as const
export type CommandType = keyof typeof Commands

export const ClientCommand = Type.Union([
  PingCommand, StartCommand, ScoreUpdateCommand, ResultReportCommand, DisputeCommand, FinalizeCommand, CancelCommand
], { $id: 'ClientCommand' })
export type ClientCommand = Static<typeof ClientCommand>
/** A command that changes a match (every one but `ping`). */
export type MatchCommand = Exclude<ClientCommand, { type: 'ping' }>

// ---------------------------------------------------------------------------------------------
// Events

export const MatchStartedData = Type.Object({ state: Type.Literal('live'), startedAt: Timestamp }, { additionalProperties: false })
export const ScoreUpdatedData = Type.Object({ scores: Scores }, { additionalProperties: false })
export const ResultReportedData = Type.Object({ by: Id, scores: Scores }, { additionalProperties: false })
export const MatchDisputedData = Type.Object({ state: Type.Literal('disputed'), by: Id, reason: Reason }, { additionalProperties: false })
export const MatchCompletedData = Type.Object({ state: Type.Literal('completed'), scores: Scores, winnerId: Id, completedAt: Timestamp }, { additionalProperties: false })
export const MatchCancelledData = Type.Object({ state: Type.Literal('cancelled'), reason: Reason }, { additionalProperties: false })

/** Event type → schema of its `data`. */
export const EventData = {
  match_started: MatchStartedData,
  score_updated: ScoreUpdatedData,
  result_reported: ResultReportedData,
  match_disputed: MatchDisputedData,
  match_completed: MatchCompletedData,
  match_cancelled: MatchCancelledData
} as const
export type EventType = keyof typeof EventData
export const EVENT_TYPES = Object.keys(EventData) as EventType[]
/** Events after which a match never changes again: they flush at once and are never skipped. */
export const TERMINAL_EVENTS: ReadonlySet<EventType> = new Set<EventType>(['match_completed', 'match_cancelled'])

function event<K extends EventType> (type: K) {
  return Type.Object({
    type: Type.Literal(type),
    matchId: Id,
    seq: Type.Integer({ minimum: 1 }),
    ts: Timestamp,
    data: EventData[type]
  }, { additionalProperties: false })
}

/** An event as delivered: sequenced and stamped. */
export const MatchEvent = Type.Union([
  event('match_started'), event('score_updated'), event('result_reported'),
  event('match_disputed'), event('match_completed'), event('match_cancelled')
], { $id: 'MatchEvent' })
export type MatchEvent = Static<typeof MatchEvent>

/** An event as handed to the broadcaster, before it has a `seq`. */
function pending<K extends EventType> (type: K) {
  return Type.Object({ type: Type.Literal(type), data: EventData[type] }, { additionalProperties: false })
}
export const PendingEvent = Type.Union([
  pending('match_started'), pending('score_updated'), pending('result_reported'),
  pending('match_disputed'), pending('match_completed'), pending('match_cancelled')
], { $id: 'PendingEvent' })
export type PendingEvent = Static<typeof PendingEvent>

// ---------------------------------------------------------------------------------------------
// Server frames

export const MatchSnapshotFrame = Type.Object({
  type: Type.Literal('snapshot'),
  matchId: Id,
  seq: Type.Integer({ minimum: 0, description: 'The last event already reflected in `match`.' }),
  epoch: Type.String({ description: 'Names the match\'s sequence; changes if the sequence restarts.' }),
  role: Role,
  match: Match,
  resync: Type.Optional(Type.Literal(true))
}, { additionalProperties: false })
export type MatchSnapshotFrame = Static<typeof MatchSnapshotFrame>

export const TournamentSnapshotFrame = Type.Object({
  type: Type.Literal('snapshot'),
  tournamentId: Id,
  role: Role,
  matches: Type.Array(Match),
  seqs: Type.Record(Type.String(), Type.Integer({ minimum: 0 }), { description: 'Match id → last event reflected in that match.' }),
  resync: Type.Optional(Type.Literal(true))
}, { additionalProperties: false })
export type TournamentSnapshotFrame = Static<typeof TournamentSnapshotFrame>

export const AckFrame = Type.Object({ type: Type.Literal('ack'), id: Type.Optional(CommandId) }, { additionalProperties: false })
export type AckFrame = Static<typeof AckFrame>

export const PongFrame = Type.Object({ type: Type.Literal('pong'), id: Type.Optional(CommandId) }, { additionalProperties: false })
export type PongFrame = Static<typeof PongFrame>

export const WsErrorCode = Type.Union([
  Type.Literal('invalid_json'),
  Type.Literal('invalid_message'),
  Type.Literal('unknown_type'),
  Type.Literal('invalid_state'),
  Type.Literal('conflict'),
  Type.Literal('forbidden'),
  Type.Literal('internal')
], { $id: 'WsErrorCode' })
export type WsErrorCode = Static<typeof WsErrorCode>

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
export const ServerFrame = Type.Union([
  MatchSnapshotFrame, TournamentSnapshotFrame, AckFrame, PongFrame, ErrorFrame, BatchFrame, ...MatchEvent.anyOf
], { $id: 'ServerFrame' })
export type ServerFrame = Static<typeof ServerFrame>

export { MatchState }
