/**
 * The client commands of the WebSocket protocol, one entry each: its fields, who may send it and
 * from which match states. Everything else about commands is derived from this table: the
 * validators, the `ClientCommand` union, the state machine's role and state checks, and the
 * AsyncAPI and README material. Adding a command means an entry here and its transition in
 * `plugins/matches/machine.ts`.
 */
import { Type, type Static, type TLiteral, type TObject, type TOptional, type TProperties } from 'typebox'
import { Id, Reason, Scores, Text, type MatchState } from './common.js'

/** Optional correlation id a client may put on a command; echoed in the reply. */
export const CommandId = Type.Union([Text({ maxLength: 64 }), Type.Integer()])
export type CommandId = Static<typeof CommandId>

/** Who may send a command: anyone in the room, an organizer, or a participant of this very match. */
export type Sender = 'any' | 'organizer' | 'player'

interface CommandSpec {
  /** One line for the docs. */
  summary: string
  /** The command's own fields (besides `type` and `id`). */
  fields: TProperties
  sender: Sender
  /** The match states it may be sent from; `any` for commands that do not change a match. */
  from: readonly MatchState[] | 'any'
}

/** The schema of a command: `{type, id?, …fields}`, nothing else. */
type CommandSchema<K extends string, F extends TProperties> = TObject<{ type: TLiteral<K>, id: TOptional<typeof CommandId> } & F>

function table<T extends Record<string, CommandSpec>> (specs: T): { [K in keyof T & string]: T[K] & { schema: CommandSchema<K, T[K]['fields']> } } {
  return Object.fromEntries(Object.entries(specs).map(([type, spec]) => [type, {
    ...spec,
    schema: Type.Object({ type: Type.Literal(type), id: Type.Optional(CommandId), ...spec.fields }, { additionalProperties: false })
  }])) as never
}

/** SPEC section 4, as data. */
export const COMMANDS = table({
  ping: { summary: 'Liveness check; answered with `pong`.', fields: {}, sender: 'any', from: 'any' },
  'match.start': { summary: 'Start a scheduled match.', fields: {}, sender: 'organizer', from: ['scheduled'] },
  'score.update': { summary: 'Set the live scores (coalesced: latest wins).', fields: { scores: Scores }, sender: 'organizer', from: ['live'] },
  'result.report': { summary: 'A participant reports the result they saw.', fields: { scores: Scores }, sender: 'player', from: ['live'] },
  'match.dispute': { summary: 'A participant disputes the match.', fields: { reason: Reason }, sender: 'player', from: ['live', 'completed'] },
  'match.finalize': {
    summary: 'Complete the match: winner, certificate, payout (as the HTTP finalize).',
    fields: { scores: Scores, winnerId: Type.Optional(Id) },
    sender: 'organizer',
    from: ['live', 'disputed']
  },
  'match.cancel': { summary: 'Cancel the match.', fields: { reason: Reason }, sender: 'organizer', from: ['scheduled', 'live', 'disputed'] }
})

export type CommandType = keyof typeof COMMANDS
export const COMMAND_TYPES = Object.keys(COMMANDS) as CommandType[]

/** Every command's schema by its `type`: the validator picks the schema by type first, so errors name the right fields. */
export const Commands = Object.fromEntries(COMMAND_TYPES.map((type) => [type, COMMANDS[type].schema])) as
  { [K in CommandType]: (typeof COMMANDS)[K]['schema'] }

export const PingCommand = Commands.ping
export const StartCommand = Commands['match.start']
export const ScoreUpdateCommand = Commands['score.update']
export const ResultReportCommand = Commands['result.report']
export const DisputeCommand = Commands['match.dispute']
export const FinalizeCommand = Commands['match.finalize']
export const CancelCommand = Commands['match.cancel']

/** Any client command: the union of the table's schemas. */
export type ClientCommand = { [K in CommandType]: Static<(typeof Commands)[K]> }[CommandType]
export const ClientCommand = Type.Unsafe<ClientCommand>(Type.Union(Object.values(Commands), { $id: 'ClientCommand' }))
/** A command that changes a match (every one whose `from` lists states). */
export type MatchCommand = Exclude<ClientCommand, { type: 'ping' }>
