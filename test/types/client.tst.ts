import { describe, expect, test } from 'tstyche'
import WebSocket from 'ws'
import {
  connect, MatchcastError, type Match, type MatchcastErrorCode, type MatchEvent, type MatchSnapshotFrame, type Position,
  type RoomStatus, type TournamentSnapshotFrame, type WebSocketConstructor
} from '../../client/index.js'

const client = connect({ url: 'wss://api.example.com', token: async () => 'jwt', WebSocket })
const room = client.match('m1')
const tournament = client.tournament('t1')

describe('connect', () => {
  test('takes the ws package and the browser WebSocket alike', () => {
    expect(WebSocket).type.toBeAssignableTo<WebSocketConstructor>()
    expect(connect({ url: 'wss://x', token: () => 'jwt' })).type.not.toRaiseError()
  })

  test('needs a url and a token function', () => {
    expect(connect({ url: 'wss://x' })).type.toRaiseError()
    expect(connect({ url: 'wss://x', token: 'jwt' })).type.toRaiseError()
  })
})

describe('a match room', () => {
  test('narrows each event on its type', () => {
    room.on('event', (event) => {
      expect(event).type.toBe<MatchEvent>()
      if (event.type === 'score_updated') expect(event.data.scores).type.toBe<Record<string, number>>()
      if (event.type === 'match_completed') expect(event.data.winnerId).type.toBe<string>()
    })
  })

  test('types snapshots, statuses and errors', () => {
    room.on('snapshot', (snapshot) => expect(snapshot).type.toBe<MatchSnapshotFrame>())
    room.on('status', (status) => expect(status).type.toBe<RoomStatus>())
    room.on('error', (err) => {
      expect(err).type.toBe<MatchcastError>()
      expect(err.code).type.toBe<MatchcastErrorCode>()
      expect(err.closeCode).type.toBe<number | undefined>()
    })
    expect(room.on('nope', () => {})).type.toRaiseError()
  })

  test('exposes the state and the position', () => {
    expect(room.state).type.toBe<Readonly<Match> | undefined>()
    expect(room.position).type.toBe<Position | undefined>()
    expect(client.match('m1', { lastSeq: 3, epoch: 'e' })).type.not.toRaiseError()
  })

  test('send accepts only valid commands, without an id', () => {
    expect(room.send({ type: 'score.update', scores: { 'u-a': 2 } })).type.toBe<Promise<void>>()
    expect(room.send({ type: 'match.finalize', scores: { 'u-a': 2 }, winnerId: 'u-a' })).type.not.toRaiseError()
    expect(room.send({ type: 'ping' })).type.not.toRaiseError()
    expect(room.send({ type: 'score.update' })).type.toRaiseError()
    expect(room.send({ type: 'score.update', scores: { 'u-a': '2' } })).type.toRaiseError()
    expect(room.send({ type: 'match.dispute' })).type.toRaiseError()
    expect(room.send({ type: 'match.explode' })).type.toRaiseError()
    expect(room.send({ type: 'match.start', id: 1 })).type.toRaiseError()
  })
})

describe('a tournament room', () => {
  test('holds every match and a position per match; only ping may be sent', () => {
    expect(tournament.state).type.toBe<ReadonlyArray<Readonly<Match>>>()
    expect(tournament.position).type.toBe<Readonly<Record<string, Readonly<Position>>>>()
    tournament.on('snapshot', (snapshot) => expect(snapshot).type.toBe<TournamentSnapshotFrame>())
    expect(tournament.send({ type: 'ping' })).type.toBe<Promise<void>>()
    expect(tournament.send({ type: 'match.start' })).type.toRaiseError()
  })
})
