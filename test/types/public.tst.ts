import type { FastifyInstance } from 'fastify'
import { describe, expect, test } from 'tstyche'
import type { Static } from 'typebox'
import matchcast, {
  CloseCode, Commands, EventData, memoryStore, RULES, WS_ERRORS, type Certificates, type CloseCodeInfo, type ClientCommand,
  type CommandType, type EventType, type MatchEvent, type MatchcastNamespace, type MatchcastOptions, type Payouts,
  type PendingEvent, type ServerFrame, type Store, type StreamPosition, type WsErrorCode
} from '../../index.js'
import { closeCodeByNumber, COMMAND_TYPES as PROTOCOL_COMMANDS, EVENT_TYPES as PROTOCOL_EVENTS, type CloseCodeEntry } from '../../protocol/index.js'

declare const app: FastifyInstance

describe('the umbrella plugin', () => {
  test('registers with auth.secret and optional parts', () => {
    expect(app.register(matchcast, { auth: { secret: 's' } })).type.not.toRaiseError()
    expect(app.register(matchcast, { auth: { secret: 's' }, store: memoryStore(), batching: { windowMs: 10 } })).type.not.toRaiseError()
  })

  test('takes no auth when the host brings its own @fastify/jwt (checked at registration)', () => {
    expect(app.register(matchcast, {})).type.not.toRaiseError()
  })

  test('accepts an env variable that may be unset under exactOptionalPropertyTypes', () => {
    expect(app.register(matchcast, { redis: process.env.REDIS_URL, prefix: '/live' })).type.not.toRaiseError()
  })

  test('rejects an option of the wrong type', () => {
    expect(app.register(matchcast, { auth: { secret: 's' }, batching: { windowMs: '50' } })).type.toRaiseError()
  })

  test('options are a plain interface', () => {
    expect<MatchcastOptions['redis']>().type.toBeAssignableFrom('redis://127.0.0.1:6379')
  })
})

describe('the app.matchcast decorator', () => {
  test('is typed per plugin', () => {
    expect(app.matchcast).type.toBe<MatchcastNamespace>()
    expect(app.matchcast.store).type.toBe<Store>()
    expect(app.matchcast.events.position('m1')).type.toBe<Promise<StreamPosition>>()
  })

  test('emit takes only well-formed pending events', () => {
    expect(app.matchcast.events.emit('m1', { type: 'score_updated', data: { scores: { a: 1 } } })).type.toBe<void>()
    expect(app.matchcast.events.emit('m1', { type: 'score_updated', data: { scores: 'x' } })).type.toRaiseError()
    expect(app.matchcast.events.emit('m1', { type: 'no_such_event', data: {} })).type.toRaiseError()
  })
})

describe('protocol types come from the schemas', () => {
  test('commands are a discriminated union', () => {
    const command = {} as ClientCommand
    if (command.type === 'match.finalize') {
      expect(command.scores).type.toBe<Record<string, number>>()
      expect(command.winnerId).type.toBe<string | undefined>()
    }
  })

  test('events narrow their data by type', () => {
    const event = {} as MatchEvent
    if (event.type === 'match_completed') expect(event.data.winnerId).type.toBe<string>()
    expect(event.seq).type.toBe<number>()
  })

  test('server frames include every event and the batch', () => {
    expect<ServerFrame>().type.toBeAssignableFrom({} as MatchEvent)
    expect<ServerFrame>().type.toBeAssignableFrom({ type: 'batch' as const, matchId: 'm', events: [] as MatchEvent[] })
    expect<PendingEvent>().type.not.toBeAssignableFrom({ type: 'match_started' as const, data: { state: 'scheduled' as const, startedAt: '' } })
  })

  test('close codes are fixed literals', () => {
    expect(CloseCode.rateLimited.code).type.toBe<4009>()
    expect(CloseCode.slowConsumer).type.toBeAssignableTo<CloseCodeInfo>()
  })
})

describe('the protocol tables drive the types', () => {
  test('a command\'s schema gives its type, with `type` and an optional `id`', () => {
    expect<Static<typeof Commands['score.update']>>().type.toBe<{ type: 'score.update', id?: string | number, scores: Record<string, number> }>()
    expect<CommandType>().type.toBe<'ping' | 'match.start' | 'score.update' | 'result.report' | 'match.dispute' | 'match.finalize' | 'match.cancel'>()
  })

  test('the state machine\'s rules cover the match commands, from the table', () => {
    expect(RULES['match.finalize'].sender).type.toBe<'organizer' | 'player'>()
    expect(RULES).type.not.toHaveProperty('ping')
  })

  test('events and their data come from the event table', () => {
    expect<EventType>().type.toBe<'match_started' | 'score_updated' | 'result_reported' | 'match_disputed' | 'match_completed' | 'match_cancelled'>()
    expect<Static<typeof EventData['match_cancelled']>>().type.toBe<{ state: 'cancelled', reason: string }>()
  })

  test('error codes come from their table', () => {
    expect<WsErrorCode>().type.toBe<keyof typeof WS_ERRORS>()
  })
})

describe('the limiter decides close codes', () => {
  test('admission and frames answer a close code or nothing', () => {
    expect(app.matchcast.limiter.frame('u', 10)).type.toBe<Promise<CloseCodeInfo | undefined>>()
    expect(app.matchcast.limiter.admit('u', 'c')).type.toBe<Promise<CloseCodeInfo | undefined>>()
  })

  test('certificates and payouts have their own fields', () => {
    expect(app.matchcast.certificates).type.toBe<Certificates>()
    expect(app.matchcast.payouts).type.toBe<Payouts>()
  })
})

describe('matchcast/protocol', () => {
  test('lists every command and event type of the tables', () => {
    expect<(typeof PROTOCOL_COMMANDS)[number]>().type.toBe<CommandType>()
    expect<(typeof PROTOCOL_EVENTS)[number]>().type.toBe<EventType>()
  })

  test('keeps CloseCode entries usable where a CloseCodeInfo is expected', () => {
    expect(CloseCode.rateLimited.code).type.toBe<4009>()
    expect(closeCodeByNumber(4009)).type.toBe<CloseCodeEntry | undefined>()
  })
})
