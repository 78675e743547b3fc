/**
 * The match events of the WebSocket protocol, one entry each: the schema of its `data`, whether it
 * is terminal (flushed at once, never skipped, the match never changes again) and whether a newer
 * pending event of its type replaces an older one in the batch window (latest wins). Everything
 * else about events is derived from this table: the `MatchEvent` and `PendingEvent` unions,
 * `TERMINAL_EVENTS`, the batcher's coalesce rule, and the AsyncAPI and README material. Adding an
 * event means an entry here and the code that emits it.
 */
import { Type, type Static, type TInteger, type TLiteral, type TObject, type TSchema } from 'typebox'
import { Id, Reason, Scores, Timestamp } from './common.js'

interface EventSpec {
  /** One line for the docs. */
  summary: string
  data: TSchema
  terminal: boolean
  /** A newer pending event of this type replaces the pending one (latest wins). */
  coalesce: boolean
}

const data = <P extends Parameters<typeof Type.Object>[0]>(properties: P) => Type.Object(properties, { additionalProperties: false })

export const EVENTS = {
  match_started: {
    summary: 'The match went live.',
    data: data({ state: Type.Literal('live'), startedAt: Timestamp }),
    terminal: false,
    coalesce: false
  },
  score_updated: {
    summary: 'The live scores changed.',
    data: data({ scores: Scores }),
    terminal: false,
    coalesce: true
  },
  result_reported: {
    summary: 'A participant reported a result.',
    data: data({ by: Id, scores: Scores }),
    terminal: false,
    coalesce: false
  },
  match_disputed: {
    summary: 'A participant disputed the match.',
    data: data({ state: Type.Literal('disputed'), by: Id, reason: Reason }),
    terminal: false,
    coalesce: false
  },
  match_completed: {
    summary: 'The match is final: scores, winner, completion time, and the winner\'s certificate (`GET /certificates/:certificateId`).',
    data: data({ state: Type.Literal('completed'), scores: Scores, winnerId: Id, completedAt: Timestamp, certificateId: Id }),
    terminal: true,
    coalesce: false
  },
  match_cancelled: {
    summary: 'The match was cancelled.',
    data: data({ state: Type.Literal('cancelled'), reason: Reason }),
    terminal: true,
    coalesce: false
  }
} as const satisfies Record<string, EventSpec>

export type EventType = keyof typeof EVENTS
export const EVENT_TYPES = Object.keys(EVENTS) as EventType[]

/** Event type → schema of its `data`. */
export const EventData = Object.fromEntries(EVENT_TYPES.map((type) => [type, EVENTS[type].data])) as
  { [K in EventType]: (typeof EVENTS)[K]['data'] }
export const MatchStartedData = EventData.match_started
export const ScoreUpdatedData = EventData.score_updated
export const ResultReportedData = EventData.result_reported
export const MatchDisputedData = EventData.match_disputed
export const MatchCompletedData = EventData.match_completed
export const MatchCancelledData = EventData.match_cancelled

/** Events after which a match never changes again: they flush at once and are never skipped. */
export const TERMINAL_EVENTS: ReadonlySet<EventType> = new Set(EVENT_TYPES.filter((type) => EVENTS[type].terminal))

type SequencedSchema<K extends EventType> = TObject<{
  type: TLiteral<K>, matchId: typeof Id, seq: TInteger, ts: typeof Timestamp, data: (typeof EVENTS)[K]['data']
}>
type PendingSchema<K extends EventType> = TObject<{ type: TLiteral<K>, data: (typeof EVENTS)[K]['data'] }>

/** Each event as delivered: sequenced and stamped. */
export const MatchEvents = Object.fromEntries(EVENT_TYPES.map((type) => [type, Type.Object({
  type: Type.Literal(type),
  matchId: Id,
  seq: Type.Integer({ minimum: 1 }),
  ts: Timestamp,
  data: EVENTS[type].data
}, { additionalProperties: false })])) as { [K in EventType]: SequencedSchema<K> }

/** Each event as handed to the broadcaster, before it has a `seq`. */
export const PendingEvents = Object.fromEntries(EVENT_TYPES.map((type) => [type, Type.Object({
  type: Type.Literal(type),
  data: EVENTS[type].data
}, { additionalProperties: false })])) as { [K in EventType]: PendingSchema<K> }

/** Any delivered event: the union of the table's schemas. */
export type MatchEvent = { [K in EventType]: Static<(typeof MatchEvents)[K]> }[EventType]
export const MatchEvent = Type.Unsafe<MatchEvent>(Type.Union(Object.values(MatchEvents), { $id: 'MatchEvent' }))

/** Any pending event: the union of the table's schemas. */
export type PendingEvent = { [K in EventType]: Static<(typeof PendingEvents)[K]> }[EventType]
export const PendingEvent = Type.Unsafe<PendingEvent>(Type.Union(Object.values(PendingEvents), { $id: 'PendingEvent' }))

/** The key under which a pending event replaces an earlier one of its match; `undefined` = never coalesced. */
export function coalesceKey (event: PendingEvent): string | undefined {
  return EVENTS[event.type].coalesce ? event.type : undefined
}
