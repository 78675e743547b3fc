/**
 * Frames the transport itself refuses: invalid UTF-8 (1007), protocol violations (1002), a frame
 * over the transport cap (1009), a ping flood (cut: 1006). Each is the peer's fault, so the server
 * closes the socket and logs it below error level.
 */
import type { Socket } from 'node:net'
import Fastify from 'fastify'
import t from 'tap'
import matchcast, { CloseCode } from '../../index.js'
import { SECRET, as, client, collectLogs, startApp, until, type Client, type LogLine, type TapLike } from '../helper.js'

/** Error-level lines (pino: error = 50, fatal = 60). */
const errorLines = (lines: LogLine[]) => lines.filter((l) => l.level >= 50)

/** A room client whose TCP socket the test can also write raw bytes to. */
async function rawClient (t: TapLike, wsUrl: string): Promise<{ c: Client, socket: Socket }> {
  const c = client(t, wsUrl, '/ws/matches/m1', as('u-fan'))
  const socket = new Promise<Socket>((resolve) => c.ws.on('upgrade', (res) => resolve(res.socket)))
  const snapshot = await c.next()
  if (snapshot.type !== 'snapshot') throw new Error('not admitted')
  return { c, socket: await socket }
}

/** A masked client frame (mask key 0, so the payload goes as is). */
function frame (opcode: number, payload: Buffer): Buffer {
  return Buffer.concat([Buffer.from([0x80 | opcode, 0x80 | payload.length, 0, 0, 0, 0]), payload])
}

t.test('a text frame of invalid UTF-8 closes 1007, logged below error level', async (t) => {
  const { lines, logger } = collectLogs()
  const { wsUrl } = await startApp(t, {}, undefined, { logger })
  const { c } = await rawClient(t, wsUrl)
  c.ws.send(Buffer.from([0xff]), { binary: false })
  t.equal((await c.closeInfo()).code, CloseCode.invalidPayload.code)
  t.same(errorLines(lines), [])
  t.ok(lines.some((l) => l.level === 30 && (l.err as { code?: string } | undefined)?.code === 'WS_ERR_INVALID_UTF8'), 'logged at info, with the error')
})

t.test('a frame breaking the protocol (unmasked, reserved opcode) closes 1002, logged below error level', async (t) => {
  const { lines, logger } = collectLogs()
  const { wsUrl } = await startApp(t, {}, undefined, { logger })
  const unmasked = await rawClient(t, wsUrl)
  unmasked.socket.write(Buffer.from([0x81, 0x02, 0x7b, 0x7d]))
  t.equal((await unmasked.c.closeInfo()).code, CloseCode.protocolError.code)
  const reserved = await rawClient(t, wsUrl)
  reserved.socket.write(frame(0x3, Buffer.from('{}')))
  t.equal((await reserved.c.closeInfo()).code, CloseCode.protocolError.code)
  t.same(errorLines(lines), [])
})

t.test('a frame over transportMaxPayloadBytes closes 1009, logged below error level', async (t) => {
  const { lines, logger } = collectLogs()
  const { wsUrl } = await startApp(t, { rateLimit: { maxPayloadBytes: 64 }, transportMaxPayloadBytes: 128 }, undefined, { logger })
  const { c } = await rawClient(t, wsUrl)
  c.send({ type: 'ping', pad: 'x'.repeat(200) })
  t.equal((await c.closeInfo()).code, CloseCode.messageTooBig.code)
  t.same(errorLines(lines), [])
})

t.test('fourteen bad frames: fourteen closes, not one error line', async (t) => {
  const { lines, logger } = collectLogs()
  const { wsUrl } = await startApp(t, { rateLimit: { maxConnectionsPerUser: 14 } }, undefined, { logger })
  const clients = await Promise.all(Array.from({ length: 14 }, () => rawClient(t, wsUrl)))
  for (const { c } of clients) c.ws.send(Buffer.from([0xc3, 0x28]), { binary: false })
  for (const { c } of clients) t.equal((await c.closeInfo()).code, 1007)
  t.same(errorLines(lines), [])
})

t.test('a ping flood from a peer that reads nothing is cut off (the peer sees 1006)', async (t) => {
  const { lines, logger } = collectLogs()
  const { app, wsUrl } = await startApp(t, {}, undefined, { logger })
  const { c, socket } = await rawClient(t, wsUrl)
  // The peer stops reading, so the server's pongs pile up unsent; ws cuts the socket once too
  // many are pending.
  socket.pause()
  const ping = frame(0x9, Buffer.alloc(125))
  const flood = Buffer.concat(Array.from({ length: 4096 }, () => ping))
  for (let i = 0; i < 64 && app.matchcast.connections.size > 0; i++) {
    if (!socket.write(flood)) await new Promise((resolve) => setTimeout(resolve, 5))
  }
  await until(() => app.matchcast.connections.size === 0, 5000)
  socket.resume()
  t.equal((await c.closeInfo(5000)).code, 1006)
  t.same(errorLines(lines), [])
})

t.test('a fragment flood (more fragments than ws buffers) closes 1008, logged below error level', async (t) => {
  const { lines, logger } = collectLogs()
  const { wsUrl } = await startApp(t, {}, undefined, { logger })
  const { c, socket } = await rawClient(t, wsUrl)
  // A text frame without FIN, then continuation frames without FIN, one byte each.
  const first = frame(0x1, Buffer.from('{'))
  first[0] = 0x01
  const more = frame(0x0, Buffer.from(' '))
  more[0] = 0x00
  socket.write(Buffer.concat([first, ...Array.from({ length: 17_000 }, () => more)]))
  t.equal((await c.closeInfo()).code, CloseCode.policyViolation.code)
  t.same(errorLines(lines), [])
})

t.test('a peer that sends a bad frame and never finishes the closing handshake is cut after closeGraceMs', async (t) => {
  const { app, wsUrl } = await startApp(t, { closeGraceMs: 50 })
  const { socket } = await rawClient(t, wsUrl)
  // The peer stops reading: it never sees the server's close frame, so it never answers it.
  socket.pause()
  socket.write(frame(0x1, Buffer.from([0xff])))
  await until(() => app.matchcast.connections.size === 0, 1000)
  t.pass('cut within the grace period (ws alone would wait 30 s)')
  socket.destroy()
})

t.test('a host route whose handler throws is still a server error: logged as one, socket cut', async (t) => {
  const { lines, logger } = collectLogs()
  const app = Fastify({ logger })
  t.teardown(() => app.close())
  await app.register(matchcast, { auth: { secret: SECRET }, heartbeat: { intervalMs: 0 } })
  app.get('/ws/boom', { websocket: true }, () => { throw new Error('boom') })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as { port: number }
  const c = client(t, `ws://127.0.0.1:${port}`, '/ws/boom')
  t.equal((await c.closeInfo()).code, 1006)
  t.match(errorLines(lines), [{ err: { message: 'boom' } }])
})
