/**
 * Rooms and a connection's back-pressure bookkeeping, over a fake socket: the orderings that
 * real sockets reach only by chance are driven here one step at a time.
 */
import { EventEmitter } from 'node:events'
import t from 'tap'
import type { FastifyBaseLogger } from 'fastify'
import type { WebSocket } from 'ws'
import type { MatchEvents } from '../../../plugins/broadcast/index.js'
import type { EventHandler, ResyncHandler } from '../../../plugins/broadcast/broker.js'
import { Connection } from '../../../plugins/websocket/connection.js'
import { Rooms, type RoomMember } from '../../../plugins/websocket/rooms.js'
import type { MatchEvent } from '../../../schemas/messages.js'

class FakeSocket extends EventEmitter {
  bufferedAmount = 0
  sent: string[] = []
  pings: Array<(err?: Error) => void> = []
  closedWith: [number, string] | undefined
  send (data: string): void { this.sent.push(data) }
  ping (_data: unknown, _mask: unknown, cb: (err?: Error) => void): void { this.pings.push(cb) }
  close (code: number, reason: string): void {
    this.closedWith = [code, reason]
    setImmediate(() => this.emit('close', code, Buffer.from(reason)))
  }

  // As `ws` does: 'close' carries the code and the reason's bytes (1006 and none when cut).
  terminate (): void { this.emit('close', 1006, Buffer.alloc(0)) }
}

const log = { error () {}, info () {} } as unknown as FastifyBaseLogger

function ev (seq: number, matchId = 'm1'): MatchEvent {
  return { type: 'score_updated', matchId, seq, ts: '2030-01-01T00:00:00.000Z', data: { scores: { 'u-a': seq } } }
}

function setup () {
  const subs = new Map<string, { handler: EventHandler, resync: ResyncHandler }>()
  const events = {
    subscribe: (matchId: string, handler: EventHandler, resync: ResyncHandler) => {
      subs.set(matchId, { handler, resync })
      return () => subs.delete(matchId)
    }
  } as unknown as MatchEvents
  const socket = new FakeSocket()
  const conn = new Connection(socket as unknown as WebSocket, { cork () {}, uncork () {} }, log, 100, { highWaterMark: 10, hardLimit: 100, graceMs: 10_000 })
  const rooms = new Rooms(events)
  const resyncs: string[] = []
  const member = (matchId: string): RoomMember => ({
    connection: conn,
    held: [],
    resync: async () => {
      resyncs.push(matchId)
      conn.lastSeq.set(matchId, 100)
    }
  })
  return { subs, socket, conn, rooms, resyncs, member }
}

const settle = () => new Promise((resolve) => setImmediate(resolve))

t.test('a batch that overlaps what a socket already has: only the newer events are sent', async (t) => {
  const { subs, socket, conn, rooms, member } = setup()
  const m = member('m1')
  rooms.join('m1', m)
  conn.lastSeq.set('m1', 2)
  rooms.release('m1', m)
  rooms.release('m1', m)
  subs.get('m1')!.handler([ev(2), ev(3)])
  t.same(socket.sent.map((s) => JSON.parse(s).seq), [3])
})

t.test('one socket behind on two matches: one drain probe, then each match resyncs', async (t) => {
  const { subs, socket, rooms, resyncs, member } = setup()
  const a = member('m1')
  const b = member('m2')
  rooms.join('m1', a)
  rooms.join('m2', b)
  rooms.release('m1', a)
  rooms.release('m2', b)
  socket.bufferedAmount = 50
  subs.get('m1')!.handler([ev(1)])
  subs.get('m2')!.handler([ev(1, 'm2')])
  subs.get('m1')!.handler([ev(2)])
  t.same(socket.sent, [], 'skipped')
  t.equal(socket.pings.length, 1, 'one probe for the socket')
  socket.bufferedAmount = 0
  socket.pings[0]!()
  await settle()
  t.same(resyncs, ['m1', 'm2'])
  subs.get('m1')!.handler([ev(101)])
  t.same(socket.sent.map((s) => JSON.parse(s).seq), [101], 'live again after the resync')
})

t.test('a resync asked for while the member is joining is owed until it is released', async (t) => {
  const { subs, rooms, resyncs, member } = setup()
  const m = member('m1')
  rooms.join('m1', m)
  subs.get('m1')!.resync()
  t.same(resyncs, [], 'not while the join snapshot is being taken')
  rooms.release('m1', m)
  await settle()
  t.same(resyncs, ['m1'], 'right after it')
})

t.test('a closing connection is not resynced; a probe answered after close does nothing', async (t) => {
  const { subs, socket, conn, rooms, resyncs, member } = setup()
  const m = member('m1')
  rooms.join('m1', m)
  rooms.release('m1', m)
  socket.bufferedAmount = 50
  subs.get('m1')!.handler([ev(1)])
  conn.close({ code: 1001, reason: 'shutdown', reconnect: 'yes' })
  subs.get('m1')!.resync()
  socket.pings[0]!(new Error('closed'))
  await conn.whenClosed()
  await conn.whenClosed()
  t.same(resyncs, [])
  t.same(socket.closedWith, [1001, 'shutdown'])
})

t.test('a connection queues messages until it is ready, then handles them in order', async (t) => {
  const { socket, conn } = setup()
  const seen: string[] = []
  socket.emit('message', Buffer.from('a'), false)
  conn.ready(async (data) => { seen.push(data.toString()) })
  conn.ready(async () => { seen.push('never') })
  socket.emit('message', Buffer.from('b'), false)
  await settle()
  t.same(seen, ['a', 'b'])
})

t.test('events held while a resync became owed are not sent: the owed snapshot replaces them, no seq jump reaches the socket', async (t) => {
  const { subs, socket, conn, rooms, resyncs, member } = setup()
  const m = member('m1')
  rooms.join('m1', m)
  conn.lastSeq.set('m1', 5)
  subs.get('m1')!.handler([ev(6)])
  // The stream moved to a new epoch: its notice, then its first event, seq 9 (7 and 8 never were).
  subs.get('m1')!.resync()
  subs.get('m1')!.handler([ev(9)])
  rooms.release('m1', m)
  t.same(socket.sent, [], 'nothing held is sent')
  await settle()
  t.same(resyncs, ['m1'], 'the owed snapshot instead')
  subs.get('m1')!.handler([ev(101)])
  t.same(socket.sent.map((s) => JSON.parse(s).seq), [101], 'live from the snapshot on')
})

t.test('a batch that does not follow what the socket has is not sent: the member resyncs instead of seeing a seq jump', async (t) => {
  const { subs, socket, conn, rooms, resyncs, member } = setup()
  const m = member('m1')
  rooms.join('m1', m)
  // Its snapshot was read while the stream did not answer: seq 0 of no epoch.
  conn.lastSeq.set('m1', 0)
  rooms.release('m1', m)
  subs.get('m1')!.handler([ev(7), ev(8)])
  t.same(socket.sent, [], 'seqs 7 and 8 do not follow 0')
  // What arrives while the snapshot is read is held, then sent after it from its seq on.
  subs.get('m1')!.handler([ev(100), ev(101)])
  await settle()
  t.same(resyncs, ['m1'])
  t.same(socket.sent.map((s) => JSON.parse(s).seq), [101], 'live from the snapshot (seq 100) on')
})
