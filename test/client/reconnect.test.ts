/**
 * The closes after which the SDK reconnects with back-off and resumes from its last seq (SPEC
 * sections 7 and 10), each produced by the real server: 1001 (shutdown: on another instance),
 * 1006 (cut), 1011 (admission failed), 4011 (heartbeat missed), 4012 (slow consumer).
 */
import t from 'tap'
import type { MatchSnapshotFrame } from '../../client/index.js'
import { memoryStore, type Store } from '../../index.js'
import { as, client, reply, startApp, testSeed, until } from '../helper.js'
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
  const getMatch = store.getMatch.bind(store)
  let failures = 1
  store.getMatch = async (...args: Parameters<Store['getMatch']>) => {
    if (failures-- > 0) throw new Error('the database is down')
    return getMatch(...args)
  }
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

t.test('4012: a slow consumer is cut; the room resumes after the events it had', async (t) => {
  const { app, wsUrl } = await startApp(t, {
    batching: { windowMs: 5, maxBatch: 10_000 },
    history: { size: 100_000 },
    backpressure: { highWaterMark: 32 * 1024, hardLimit: 64 * 1024, graceMs: 20 },
    closeGraceMs: 10_000
  })
  const ws = instrumentedWebSocket()
  const room = sdk(t, wsUrl, 'u-fan', { WebSocket: ws.WebSocket }).match('m2')
  const log = watch<MatchSnapshotFrame>(room)
  await log.status('live')
  // The client stops reading: big batches fill the kernel's buffers, then the socket's send buffer
  // past the hard limit, and the server cuts the socket after the grace period.
  ws.sockets[0]!.pause()
  const closing = () => [...app.websocketServer.clients].some((s) => s.readyState === s.CLOSING)
  let emitted = 0
  while (!closing()) {
    const flushes = app.matchcast.events.stats.flushes
    for (let i = 0; i < 1000; i++) {
      app.matchcast.events.emit('m2', { type: 'match_disputed', data: { state: 'disputed', by: 'u-b', reason: String(++emitted).padEnd(500, '.') } })
    }
    await until(() => app.matchcast.events.stats.flushes > flushes, 5000)
  }
  ws.sockets[0]!.resume()
  app.matchcast.events.emit('m2', { type: 'match_cancelled', data: { state: 'cancelled', reason: 'the end' } })
  await log.until(() => log.events.length === emitted + 1, 20_000)
  // The server cuts a slow consumer and records 4012; with no close frame behind what the client
  // has not read, the client sees 1006. Both mean: reconnect and resume.
  t.equal(ws.closes[0], 1006)
  t.match(await app.matchcast.metrics.registry.metrics(), /^matchcast_ws_close_total\{code="4012"\} 1$/m)
  t.ok(log.events.every((e, i) => e.seq === i + 1), `every event once, in order (${emitted + 1})`)
  t.match(room.state, { state: 'cancelled' })
  t.equal(room.status, 'live')
})
