/**
 * Slow consumers. The server side of a socket is corked, so its send buffer (`bufferedAmount`)
 * fills deterministically without depending on kernel buffer sizes; uncorking lets it drain.
 */
import type { Socket } from 'node:net'
import Fastify from 'fastify'
import t from 'tap'
import type { WebSocket } from 'ws'
import matchcast, { memoryStore } from '../../../index.js'
import { SECRET, as, client, startApp, testSeed, until } from '../../helper.js'
import { completed, eventsIn, readSeqs, reported } from '../broadcast/fixtures.js'

type Frame = Record<string, unknown>

function serverSocket (app: { websocketServer: { clients: Set<WebSocket> } }): { ws: WebSocket, raw: Socket } {
  const [ws] = [...app.websocketServer.clients]
  return { ws: ws!, raw: (ws as unknown as { _socket: Socket })._socket }
}

t.test('above the high-water mark: events skipped, terminal ones still sent, then a resync snapshot once drained', async (t) => {
  const { app, wsUrl } = await startApp(t, { batching: { windowMs: 0 }, backpressure: { highWaterMark: 1000, hardLimit: 1_000_000, graceMs: 60_000 } })
  const c = client(t, wsUrl, '/ws/matches/m1', as('u-fan'))
  t.match(await c.next(), { type: 'snapshot', seq: 0 })
  const { ws, raw } = serverSocket(app)
  const { events } = app.matchcast
  raw.cork()
  for (let i = 1; i <= 20; i++) {
    events.emit('m1', reported(i))
    await events.flush()
  }
  t.ok(ws.bufferedAmount > 1000, 'the buffer is over the mark')
  const buffered = ws.bufferedAmount
  events.emit('m1', reported(21))
  events.emit('m1', completed)
  await events.flush()
  t.ok(ws.bufferedAmount > buffered, 'the terminal event was queued anyway')
  raw.uncork()

  const seqs: number[] = []
  let frame: Frame
  for (;;) {
    frame = await c.next()
    if (frame.type === 'snapshot') break
    seqs.push(...eventsIn(frame).map((e) => e.seq))
  }
  const sent = seqs.slice(0, -1)
  t.ok(sent.length > 0 && sent.length < 20, `some events went out before the mark (${sent.length})`)
  t.same(sent, Array.from({ length: sent.length }, (_, i) => i + 1), 'those in order, without gaps')
  t.equal(seqs[seqs.length - 1], 22, 'then only the terminal event')
  t.match(frame, { type: 'snapshot', matchId: 'm1', seq: 22, resync: true, match: { id: 'm1' } })
  events.emit('m1', reported(23))
  await events.flush()
  t.same(await readSeqs(c, 1), [23], 'live again after the snapshot')
  t.same(c.invalid, [])
})

t.test('a tournament room resyncs just the match it skipped', async (t) => {
  const { app, wsUrl } = await startApp(t, { batching: { windowMs: 0 }, backpressure: { highWaterMark: 500, hardLimit: 1_000_000, graceMs: 60_000 } })
  const c = client(t, wsUrl, '/ws/tournaments/t1', as('u-fan'))
  t.match(await c.next(), { type: 'snapshot', tournamentId: 't1' })
  const { raw } = serverSocket(app)
  raw.cork()
  for (let i = 1; i <= 10; i++) {
    app.matchcast.events.emit('m2', reported(i))
    await app.matchcast.events.flush()
  }
  raw.uncork()
  let frame: Frame
  do frame = await c.next(); while (frame.type !== 'snapshot')
  t.match(frame, { type: 'snapshot', tournamentId: 't1', role: 'spectator', seqs: { m2: 10 }, resync: true })
  t.same((frame.matches as Frame[]).map((m) => m.id), ['m2'])
})

t.test('above the hard limit for longer than the grace: cut, and recorded as 4012 (the client sees 1006)', async (t) => {
  const { app, wsUrl } = await startApp(t, { batching: { windowMs: 60_000 }, backpressure: { highWaterMark: 1000, hardLimit: 2000, graceMs: 30 } })
  const c = client(t, wsUrl, '/ws/matches/m1', as('u-fan'))
  await c.next()
  const { ws, raw } = serverSocket(app)
  raw.cork()
  for (let i = 1; i <= 40; i++) app.matchcast.events.emit('m1', reported(i))
  await app.matchcast.events.flush()
  t.ok(ws.bufferedAmount > 2000, 'one batch put it over the hard limit')
  app.matchcast.events.emit('m1', reported(41))
  await app.matchcast.events.flush()
  await until(() => app.matchcast.connections.size === 0)
  t.equal((await c.closeInfo()).code, 1006, 'no close frame behind what the client has not read')
  t.match(await app.matchcast.metrics.registry.metrics(), /^matchcast_ws_close_total\{code="4012"\} 1$/m)
})

t.test('over the hard limit but drained within the grace: stays open', async (t) => {
  const { app, wsUrl } = await startApp(t, { batching: { windowMs: 60_000 }, backpressure: { highWaterMark: 2000, hardLimit: 2000, graceMs: 20 } })
  const c = client(t, wsUrl, '/ws/matches/m1', as('u-fan'))
  await c.next()
  const { ws, raw } = serverSocket(app)
  raw.cork()
  for (let i = 1; i <= 40; i++) app.matchcast.events.emit('m1', reported(i))
  await app.matchcast.events.flush()
  t.ok(ws.bufferedAmount > 2000)
  raw.uncork()
  t.same(await readSeqs(c, 40), Array.from({ length: 40 }, (_, i) => i + 1))
  // Real wait: the grace timer has to fire and find the buffer drained.
  await new Promise((resolve) => setTimeout(resolve, 30))
  await c.ping()
})

t.test('a congested socket cut off while waiting to drain leaves nothing scheduled', async (t) => {
  const { app, wsUrl } = await startApp(t, { batching: { windowMs: 0 }, backpressure: { highWaterMark: 100, hardLimit: 1_000_000, graceMs: 60_000 } })
  const c = client(t, wsUrl, '/ws/matches/m1', as('u-fan'))
  await c.next()
  const { ws, raw } = serverSocket(app)
  raw.cork()
  for (let i = 1; i <= 3; i++) {
    app.matchcast.events.emit('m1', reported(i))
    await app.matchcast.events.flush()
  }
  ws.terminate()
  await until(() => app.matchcast.connections.size === 0)
  t.equal(app.matchcast.connections.rooms.size('m1'), 0)
  t.equal((await c.closeInfo()).code, 1006)
})

t.test('back-pressure options are validated', async (t) => {
  for (const [backpressure, message] of [
    [{ hardLimit: 10, highWaterMark: 20 }, /websocket\.backpressure\.hardLimit: must not be below/],
    [{ graceMs: 0 }, /websocket\.backpressure\.graceMs/],
    [{ nope: 1 }, /websocket\.backpressure\.nope: unknown option/]
  ] as const) {
    const app = Fastify()
    t.teardown(() => app.close())
    app.register(matchcast, { auth: { secret: SECRET }, store: memoryStore(testSeed()), backpressure: backpressure as object })
    await t.rejects(async () => { await app.ready() }, { code: 'MATCHCAST_ERR_INVALID_OPTS', message })
  }
})
