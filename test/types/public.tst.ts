import type { FastifyInstance } from 'fastify'
import { describe, expect, test } from 'tstyche'
import matchcast, {
  CloseCode, memoryStore, type CloseCodeInfo, type ClientCommand, type MatchEvent, type MatchcastNamespace,
  type MatchcastOptions, type PendingEvent, type ServerFrame, type Store, type StreamPosition
} from '../../index.js'

declare const app: FastifyInstance

describe('the umbrella plugin', () => {
  test('registers with auth.secret and optional parts', () => {
    expect(app.register(matchcast, { auth: { secret: 's' } })).type.not.toRaiseError()
    expect(app.register(matchcast, { auth: { secret: 's' }, store: memoryStore(), batching: { windowMs: 10 } })).type.not.toRaiseError()
  })

  test('requires auth', () => {
    expect(app.register(matchcast, {})).type.toRaiseError()
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
