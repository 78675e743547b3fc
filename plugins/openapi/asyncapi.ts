/**
 * The AsyncAPI 3 document of the WebSocket protocol, generated from the protocol tables
 * (`schemas/commands.ts`, `schemas/events.ts`), the server frames (`schemas/frames.ts`) and the
 * close codes: one channel per room, one `send` operation per command (replied to with `ack`,
 * `pong` or `error`) and one `receive` operation per room for what the server sends.
 */
import type { TSchema } from 'typebox'
import { CloseCode } from '../../protocol/close-codes.js'
import { COMMANDS, COMMAND_TYPES, type CommandType } from '../../schemas/commands.js'
import { EVENT_TYPES, EVENTS, MatchEvents } from '../../schemas/events.js'
import { AckFrame, BatchFrame, ErrorFrame, MatchSnapshotFrame, PongFrame, TournamentSnapshotFrame } from '../../schemas/frames.js'
import { MatchParams, MatchRoomQuery, TournamentParams } from '../../schemas/params.js'
import { COMMAND_EXAMPLES, EVENT_EXAMPLES, FRAME_EXAMPLES } from './examples.js'

type Json = Record<string, unknown>

/** A schema as plain JSON Schema: nested `$id`s dropped, so every schema is inline and self-contained. */
function plain (schema: TSchema): Json {
  return JSON.parse(JSON.stringify(schema, (key, value: unknown) => (key === '$id' ? undefined : value))) as Json
}

const message = (name: string, summary: string, schema: TSchema, example: unknown): Json => ({
  name, title: name, summary, contentType: 'application/json', payload: plain(schema), examples: [{ payload: example }]
})

const closeCodes = Object.values(CloseCode).map((c) => `| ${c.code} | \`${c.reason || '—'}\` | ${c.when} | ${c.advice} |`).join('\n')

const ROOM_DESCRIPTION = `Authenticate with \`Authorization: Bearer <jwt>\`, the subprotocols \`matchcast.v1, bearer.<jwt>\`, or \`?token=<jwt>\`.
The first frame is a \`snapshot\`; then events, each match's in \`seq\` order, alone or as a \`batch\`.

| close code | reason | when | client should |
|---|---|---|---|
${closeCodes}`

export interface AsyncapiOptions {
  /** The path prefix the rooms are mounted under (the umbrella's `prefix`). */
  prefix: string
  /** `host[:port]` the document names as its server, e.g. the request's `Host`. */
  host: string
  /** `wss` behind TLS, else `ws`. */
  protocol: 'ws' | 'wss'
  version: string
}

/** Builds the document. */
export function asyncapiDocument ({ prefix, host, protocol, version }: AsyncapiOptions): Json {
  const commandKey = (type: CommandType) => type.replace('.', '_')
  const messages: Json = {
    matchSnapshot: message('snapshot', 'The match as it is, and the seq it reflects (first frame, and after a resync).', MatchSnapshotFrame, FRAME_EXAMPLES.matchSnapshot),
    tournamentSnapshot: message('snapshot', 'Every match of the tournament and the seq each reflects.', TournamentSnapshotFrame, FRAME_EXAMPLES.tournamentSnapshot),
    ack: message('ack', 'A command succeeded.', AckFrame, FRAME_EXAMPLES.ack),
    pong: message('pong', 'The answer to `ping`.', PongFrame, FRAME_EXAMPLES.pong),
    error: message('error', 'A command failed; the connection stays open (but `forbidden` then closes 4003).', ErrorFrame, FRAME_EXAMPLES.error),
    batch: message('batch', 'Events of one match flushed together, in seq order.', BatchFrame, FRAME_EXAMPLES.batch)
  }
  for (const type of EVENT_TYPES) {
    const terminal = EVENTS[type].terminal ? ' Terminal: the match never changes again.' : ''
    messages[type] = message(type, EVENTS[type].summary + terminal, MatchEvents[type], EVENT_EXAMPLES[type])
  }
  for (const type of COMMAND_TYPES) {
    const spec = COMMANDS[type]
    const from = spec.from === 'any' ? 'any state' : spec.from.join(', ')
    messages[commandKey(type)] = message(type, `${spec.summary} Sent by: ${spec.sender}; from: ${from}.`, spec.schema, COMMAND_EXAMPLES[type])
  }
  const ref = (path: string) => ({ $ref: path })
  const events = EVENT_TYPES.map((type) => [type, ref(`#/components/messages/${type}`)] as const)
  const room = (id: string, address: string, params: Json, own: string[], description: string, query?: TSchema): Json => ({
    address: `${prefix}${address}`,
    title: id,
    description: `${description}\n\n${ROOM_DESCRIPTION}`,
    parameters: params,
    messages: Object.fromEntries([
      ...own.map((name) => [name, ref(`#/components/messages/${name}`)] as const),
      ...events,
      ...COMMAND_TYPES.map((type) => [commandKey(type), ref(`#/components/messages/${commandKey(type)}`)] as const)
    ]),
    bindings: { ws: { method: 'GET', ...(query !== undefined && { query: plain(query) }), bindingVersion: '0.1.0' } }
  })
  const param = (schema: TSchema, key: string): Json => {
    const s = (schema as unknown as { properties: Record<string, { example?: string }> }).properties[key]!
    return { description: `The ${key}.`, examples: [s.example] }
  }
  const channels = {
    matchRoom: room('matchRoom', '/ws/matches/{matchId}', { matchId: param(MatchParams, 'matchId') },
      ['matchSnapshot', 'ack', 'pong', 'error', 'batch'], 'One match: its snapshot, its events, and the commands of its organizers and participants. ' +
      '`?lastSeq=N&epoch=E` resumes after the last event applied.', MatchRoomQuery),
    tournamentRoom: room('tournamentRoom', '/ws/tournaments/{tournamentId}', { tournamentId: param(TournamentParams, 'tournamentId') },
      ['tournamentSnapshot', 'ack', 'pong', 'error', 'batch'], 'Every match of a tournament, read-only: any command but `ping` is `forbidden` (then close 4003).')
  }
  const operations: Json = {}
  for (const [id, channel] of [['matchRoom', 'match room'], ['tournamentRoom', 'tournament room']] as const) {
    const channelRef = ref(`#/channels/${id}`)
    const own = id === 'matchRoom' ? 'matchSnapshot' : 'tournamentSnapshot'
    operations[`${id}.receive`] = {
      action: 'receive',
      channel: channelRef,
      summary: `What the server sends in a ${channel}.`,
      messages: [own, 'batch', ...EVENT_TYPES].map((name) => ref(`#/channels/${id}/messages/${name}`))
    }
    for (const type of id === 'matchRoom' ? COMMAND_TYPES : ['ping' as const]) {
      operations[`${id}.${type}`] = {
        action: 'send',
        channel: channelRef,
        summary: COMMANDS[type].summary,
        messages: [ref(`#/channels/${id}/messages/${commandKey(type)}`)],
        reply: {
          channel: channelRef,
          messages: [type === 'ping' ? 'pong' : 'ack', 'error'].map((name) => ref(`#/channels/${id}/messages/${name}`))
        }
      }
    }
  }
  return {
    asyncapi: '3.0.0',
    info: {
      title: 'matchcast WebSocket protocol',
      version,
      description: 'Live tournament match rooms: snapshots, sequenced match events, commands and their replies. ' +
        'Every frame is one JSON text frame; commands may carry an `id` (a string of at most 64 characters, or an integer) that the reply echoes.'
    },
    servers: { matchcast: { host, protocol, pathname: prefix || '/', security: [ref('#/components/securitySchemes/bearer')] } },
    defaultContentType: 'application/json',
    channels,
    operations,
    components: {
      messages,
      securitySchemes: {
        bearer: { type: 'httpApiKey', name: 'Authorization', in: 'header', description: '`Bearer <jwt>`; or the `bearer.<jwt>` subprotocol, or `?token=<jwt>`.' }
      }
    }
  }
}
