/**
 * Slow consumers are closed 4012, and 4012 is what the server records. A real client stops reading
 * (its socket is paused), so the kernel buffers fill and then the server's send buffer does.
 *
 * Guards two bugs: the 4012 close frame waited behind the full send buffer until `closeGraceMs`
 * cut the socket, so the metric recorded 1006; and a client that never read was never closed when
 * heartbeats were off, because skipped events kept its buffer below the hard limit.
 */
import type { Socket } from 'node:net'
import t, { type Test } from 'tap'
import type { WebSocket } from 'ws'
import type { PendingEvent } from '../../schemas/messages.js'
import { as, client, collectLogs, startApp, until, type Client, type TestApp } from '../helper.js'

/** A `score_updated` event of about `bytes` bytes (one score per 100-character key). */
function bigEvent (bytes: number): PendingEvent {
  const scores: Record<string, number> = {}
  for (let i = 0; i < bytes / 110; i++) scores[String(i).padStart(100, 'k')] = i
  return { type: 'score_updated', data: { scores } }
}
const ONE_MB = bigEvent(1024 * 1024)

function serverSocket (app: TestApp['app']): WebSocket {
  return [...app.websocketServer.clients][0]!
}

/** The client stops reading; reading again at teardown, so its close is not stuck behind the pause. */
function pause (t: Test, c: Client): void {
  const socket = (c.ws as unknown as { _socket: Socket })._socket
  socket.pause()
  t.teardown(() => { socket.resume() })
}

function resume (c: Client): void {
  (c.ws as unknown as { _socket: Socket })._socket.resume()
}

async function closeCount (app: TestApp['app'], code: number): Promise<number> {
  const text = await app.matchcast.metrics.registry.metrics()
  return Number(new RegExp(`^matchcast_ws_close_total\\{code="${code}"\\} (\\d+)$`, 'm').exec(text)?.[1] ?? 0)
}

/** Emits 1 MB events until the server's send buffer is above `bytes` (the kernel buffers are full by then). */
async function fill (app: TestApp['app'], ws: WebSocket, bytes: number): Promise<void> {
  for (let i = 0; i < 40 && ws.bufferedAmount <= bytes; i++) {
    app.matchcast.events.emit('m1', ONE_MB)
    await app.matchcast.events.flush()
  }
  if (ws.bufferedAmount <= bytes) throw new Error(`send buffer still at ${ws.bufferedAmount}`)
}

t.test('over the hard limit, with the default closeGraceMs: cut at once, recorded 4012 (metric and log)', async (t) => {
  const { lines, logger } = collectLogs('info')
  const { app, wsUrl } = await startApp(t, {
    closeGraceMs: 1000,
    batching: { windowMs: 0 },
    backpressure: { highWaterMark: 64 * 1024, hardLimit: 256 * 1024, graceMs: 100 }
  }, undefined, { logger })
  const c = client(t, wsUrl, '/ws/matches/m1', as('u-fan'))
  t.match(await c.next(), { type: 'snapshot' })
  const ws = serverSocket(app)
  pause(t, c)
  await fill(app, ws, 256 * 1024)
  // The cut follows graceMs; the bound is only for a machine busy with other suites.
  await until(() => app.matchcast.connections.size === 0, 10_000)
  t.equal(await closeCount(app, 4012), 1, 'the metric records 4012')
  t.equal(await closeCount(app, 1006), 0, 'not 1006')
  t.match(lines.find((l) => l.code === 4012), { level: 30, code: 4012, reason: 'slow_consumer', msg: 'slow consumer: connection cut' })
  resume(c)
  t.equal((await c.closeInfo()).code, 1006, 'the client sees its socket cut (documented)')
})

t.test('not drained within graceMs, below the hard limit and without heartbeats: cut, recorded 4012', async (t) => {
  const { app, wsUrl } = await startApp(t, {
    batching: { windowMs: 0 },
    heartbeat: { intervalMs: 0 },
    backpressure: { highWaterMark: 64 * 1024, hardLimit: 64 * 1024 * 1024, graceMs: 150 }
  })
  const c = client(t, wsUrl, '/ws/matches/m1', as('u-fan'))
  t.match(await c.next(), { type: 'snapshot' })
  const ws = serverSocket(app)
  pause(t, c)
  await fill(app, ws, 64 * 1024)
  // Congested: further events are skipped, so the buffer does not grow towards the hard limit.
  const buffered = ws.bufferedAmount
  app.matchcast.events.emit('m1', ONE_MB)
  await app.matchcast.events.flush()
  t.ok(ws.bufferedAmount < buffered + 1024, 'the next event was skipped')
  t.ok(buffered < 64 * 1024 * 1024, 'below the hard limit')
  await until(() => app.matchcast.connections.size === 0)
  t.equal(await closeCount(app, 4012), 1)
  resume(c)
  t.equal((await c.closeInfo()).code, 1006)
})

t.test('a client that reads again within graceMs is not cut: it gets a resync snapshot', async (t) => {
  const { app, wsUrl } = await startApp(t, {
    batching: { windowMs: 0 },
    backpressure: { highWaterMark: 64 * 1024, hardLimit: 64 * 1024 * 1024, graceMs: 5000 }
  })
  const c = client(t, wsUrl, '/ws/matches/m1', as('u-fan'))
  t.match(await c.next(), { type: 'snapshot' })
  const ws = serverSocket(app)
  pause(t, c)
  await fill(app, ws, 64 * 1024)
  app.matchcast.events.emit('m1', ONE_MB)
  await app.matchcast.events.flush()
  resume(c)
  let frame: Record<string, unknown>
  do frame = await c.next(); while (frame.type !== 'snapshot')
  t.match(frame, { type: 'snapshot', matchId: 'm1', resync: true })
  await c.ping()
  t.equal(await closeCount(app, 4012), 0)
})
