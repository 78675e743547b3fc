/**
 * Connections the SDK itself gives up on: one gone silent (no pong to its ping), one that sends
 * what is not a frame or skips a seq; and, in browsers, reconnecting at once when back online.
 */
import { once } from 'node:events'
import t from 'tap'
import WebSocket, { WebSocketServer } from 'ws'
import type { MatchSnapshotFrame } from '../../client/index.js'
import { as, client, reply, startApp } from '../helper.js'
import { TcpProxy } from '../proxy.js'
import { freePort } from '../redis.js'
import { sdk, watch } from './helper.js'

t.test('a silent connection (no pong) is dropped by the SDK and resumed', async (t) => {
  const { wsUrl } = await startApp(t)
  const proxy = new TcpProxy({ target: () => Number(new URL(wsUrl).port) })
  const url = await proxy.listen(t)
  const room = sdk(t, url, 'u-fan', { pingIntervalMs: 30, pongTimeoutMs: 60 }).match('m2')
  const log = watch<MatchSnapshotFrame>(room)
  await log.status('live')
  const player = client(t, wsUrl, '/ws/matches/m2', as('u-b'))
  await player.next()
  // The network path dies without a word: nothing arrives, nothing closes.
  proxy.stallAll()
  player.send({ type: 'result.report', id: 1, scores: { 'u-b': 1 } })
  t.same(await reply(player), { type: 'ack', id: 1 })
  await log.until(() => log.events.length === 1)
  t.equal(proxy.connections, 2, 'a new connection')
  t.same(log.statuses, ['connecting', 'live', 'reconnecting', 'live'])
  t.equal(log.snapshots.length, 1, 'resumed')
})

t.test('a server that does not answer yet: the room keeps connecting until it does', async (t) => {
  const { wsUrl } = await startApp(t)
  const nobody = await freePort()
  let target = nobody
  const proxy = new TcpProxy({ target: () => target })
  const url = await proxy.listen(t)
  const room = sdk(t, url, 'u-fan').match('m2')
  const log = watch<MatchSnapshotFrame>(room)
  await log.until(() => proxy.connections >= 3)
  t.equal(room.status, 'connecting')
  target = Number(new URL(wsUrl).port)
  await log.status('live')
  t.same(log.statuses, ['connecting', 'live'])
})

t.test('back online: a room waiting to reconnect does it at once', async (t) => {
  const { wsUrl } = await startApp(t)
  // The browser's window: `online` events.
  const window = new EventTarget()
  const scope = globalThis as { addEventListener?: unknown, removeEventListener?: unknown }
  scope.addEventListener = window.addEventListener.bind(window)
  scope.removeEventListener = window.removeEventListener.bind(window)
  t.teardown(() => { delete scope.addEventListener; delete scope.removeEventListener })
  const proxy = new TcpProxy({ target: () => Number(new URL(wsUrl).port) })
  const url = await proxy.listen(t)
  const room = sdk(t, url, 'u-fan', { backoff: { minMs: 600_000, maxMs: 600_000 } }).match('m2')
  const log = watch<MatchSnapshotFrame>(room)
  await log.status('live')
  window.dispatchEvent(new Event('online'))
  proxy.cutAll()
  await log.status('reconnecting')
  window.dispatchEvent(new Event('online'))
  await log.status('live')
  t.equal(proxy.connections, 2)
  room.close()
  window.dispatchEvent(new Event('online'))
  t.equal(proxy.connections, 2, 'a closed room no longer listens')
})

t.test('garbage, frames outside the sequence and gaps', async (t) => {
  // A server that misbehaves on purpose (matchcast never sends these): what the SDK does with them.
  const server = new WebSocketServer({ port: 0, host: '127.0.0.1', handleProtocols: () => 'matchcast.v1' })
  await once(server, 'listening')
  t.teardown(() => new Promise((resolve) => server.close(resolve)))
  const urls: string[] = []
  const match = { id: 'm1', tournamentId: 't1', state: 'live', participants: ['u-a', 'u-b'], scores: {}, winnerId: null, version: 0 }
  const event = (seq: number) => ({ type: 'score_updated', matchId: 'm1', seq, ts: new Date().toISOString(), data: { scores: { 'u-a': seq } } })
  const script: Array<Array<string | object>> = [
    [{ type: 'snapshot', matchId: 'm1', seq: 0, epoch: 'e', role: 'spectator', match }, { type: 'presence', matchId: 'm1', participants: [], organizers: [], spectators: 1 }, 'not json'],
    ['null'],
    [event(1), event(3)],
    [{ type: 'batch', matchId: 'm1', events: [event(1), event(2)] }]
  ]
  server.on('connection', (socket: WebSocket, request) => {
    urls.push(request.url!)
    for (const frame of script[urls.length - 1] ?? []) socket.send(typeof frame === 'string' ? frame : JSON.stringify(frame))
  })
  const { port } = server.address() as { port: number }
  const room = sdk(t, `ws://127.0.0.1:${port}`, 'u-fan').match('m1')
  const log = watch<MatchSnapshotFrame>(room)
  await log.until(() => log.events.length === 2)
  t.same(urls, ['/ws/matches/m1', '/ws/matches/m1?lastSeq=0&epoch=e', '/ws/matches/m1?lastSeq=0&epoch=e', '/ws/matches/m1?lastSeq=1&epoch=e'])
  t.same(log.statuses, ['connecting', 'live', 'reconnecting', 'live', 'reconnecting', 'live'])
  t.same(log.events.map((e) => e.seq), [1, 2], 'the duplicate ignored, the gap resumed')
  t.match(room.state, { scores: { 'u-a': 2 } })
})
