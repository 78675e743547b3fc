/**
 * The closes after which the SDK reconnects with back-off and resumes from its last seq (SPEC
 * sections 7 and 10), each produced by the real server: 1001 (shutdown: on another instance),
 * 1006 (cut), 1011 (admission failed), 4011 (heartbeat missed), 4012 (slow consumer, which the
 * server cuts: the client sees 1006).
 */
import type { Socket } from 'node:net'
import t from 'tap'
import type { MatchSnapshotFrame } from '../../client/index.js'
import { memoryStore } from '../../index.js'
import { as, client, failOnce, reply, startApp, testSeed, until } from '../helper.js'
import { sharedRedisUrl, uniquePrefix } from '../redis.js'
import { instrumentedWebSocket, sdk, watch } from './helper.js'

t.test('1001: the instance shuts down; the room resumes on another instance with no loss and no duplicate', async (t) => {
  const redis = await sharedRedisUrl(t)
  const store = memoryStore(testSeed())
  const keyPrefix = uniquePrefix()
  const a = await startApp(t, { store, redis, keyPrefix })
  const b = await startApp(t, { store, redis, keyPrefix })
  // A load balancer: each new socket goes to the instance that is up.
  let target = a.wsUrl
  const ws = instrumentedWebSocket({ route: (url) => url.replace(a.wsUrl, target) })
  const room = sdk(t, a.wsUrl, 'u-fan', { WebSocket: ws.WebSocket }).match('m2')
  const log = watch<MatchSnapshotFrame>(room)
  await log.status('live')
  const player = client(t, b.wsUrl, '/ws/matches/m2', as('u-b'))
  await player.next()
  const report = async (n: number) => {
    player.send({ type: 'result.report', id: n, scores: { 'u-b': n } })
    t.same(await reply(player, 5000), { type: 'ack', id: n })
  }
  await report(1)
  await log.until(() => log.events.length === 1, 5000)
  target = b.wsUrl
  const closing = a.app.close()
  await log.status('reconnecting')
  await report(2)
  await report(3)
  await closing
  await log.until(() => log.events.length === 3, 5000)
  t.same(ws.closes, [1001])
  t.same(log.events.map((e) => e.seq), [1, 2, 3])
  t.equal(log.snapshots.length, 1, 'resumed, not resynced')
  t.equal(ws.sockets.length, 2)
})

t.test('1006: the server cuts the socket; the room resumes', async (t) => {
  const { app, wsUrl } = await startApp(t)
  const ws = instrumentedWebSocket()
  const room = sdk(t, wsUrl, 'u-org', { WebSocket: ws.WebSocket }).match('m1')
  const log = watch<MatchSnapshotFrame>(room)
  await log.status('live')
  await room.send({ type: 'match.start' })
  for (const socket of app.websocketServer.clients) socket.terminate()
  await log.status('reconnecting')
  await room.send({ type: 'score.update', scores: { 'u-a': 5 } })
  await log.until(() => log.events.length === 2)
  t.same(ws.closes, [1006])
  t.same(log.events.map((e) => e.seq), [1, 2])
  t.match(room.state, { state: 'live', scores: { 'u-a': 5 } })
})

t.test('1011: the server failed to admit the socket; the room tries again', async (t) => {
  const store = memoryStore(testSeed())
  const { wsUrl } = await startApp(t, { store })
  failOnce(store, 'getMatch')
  const ws = instrumentedWebSocket()
  const room = sdk(t, wsUrl, 'u-org', { WebSocket: ws.WebSocket }).match('m1')
  const log = watch<MatchSnapshotFrame>(room)
  await log.status('live')
  t.same(ws.closes, [1011])
  t.same(log.statuses, ['connecting', 'live'], 'still connecting until first live')
})

t.test('4011: a peer that misses the server heartbeat is closed, and the room resumes', async (t) => {
  const { app, wsUrl } = await startApp(t, { heartbeat: { intervalMs: 30 } })
  // A peer that does not answer pings (e.g. a frozen tab).
  const ws = instrumentedWebSocket({ autoPong: false })
  const room = sdk(t, wsUrl, 'u-org', { WebSocket: ws.WebSocket }).match('m1')
  const log = watch<MatchSnapshotFrame>(room)
  await log.status('live')
  await room.send({ type: 'match.start' })
  await until(() => ws.closes.length > 0 && room.status === 'live' && app.matchcast.connections.size === 1, 5000)
  t.equal(ws.closes[0], 4011)
  await room.send({ type: 'score.update', scores: { 'u-a': 1 } })
  await log.until(() => log.events.length === 2)
  t.same(log.events.map((e) => e.seq), [1, 2])
  t.equal(log.snapshots.length, 1, 'each reconnect resumed')
})

t.test('4012 (a slow consumer, cut: the client sees 1006): the room resumes after the events it had', async (t) => {
  const { app, wsUrl } = await startApp(t, { batching: { windowMs: 60_000 }, backpressure: { highWaterMark: 1000, hardLimit: 2000, graceMs: 30 } })
  const ws = instrumentedWebSocket()
  const room = sdk(t, wsUrl, 'u-fan', { WebSocket: ws.WebSocket }).match('m2')
  const log = watch<MatchSnapshotFrame>(room)
  await log.status('live')
  // The server's socket stops writing (as a full network path would): one batch puts it over the
  // hard limit, and it stays there past the grace period.
  const [server] = [...app.websocketServer.clients]
  ;(server as unknown as { _socket: Socket })._socket.cork()
  for (let i = 1; i <= 40; i++) app.matchcast.events.emit('m2', { type: 'result_reported', data: { by: 'u-b', scores: { 'u-b': i } } })
  await app.matchcast.events.flush()
  await log.status('reconnecting')
  await log.status('live')
  app.matchcast.events.emit('m2', { type: 'match_cancelled', data: { state: 'cancelled', reason: 'the end' } })
  await app.matchcast.events.flush()
  await log.until(() => log.events.length === 41)
  t.same(ws.closes, [1006])
  t.match(await app.matchcast.metrics.registry.metrics(), /^matchcast_ws_close_total\{code="4012"\} 1$/m, 'the server closed it as a slow consumer')
  t.same(log.events.map((e) => e.seq), Array.from({ length: 41 }, (_, i) => i + 1), 'every event once, in order')
  t.equal(log.snapshots.length, 1, 'resumed')
  t.match(room.state, { state: 'cancelled' })
})
