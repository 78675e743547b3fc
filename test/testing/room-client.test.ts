import type { AddressInfo } from 'node:net'
import t, { type Test } from 'tap'
import { WebSocketServer } from 'ws'
import { Client } from '../../testing/room-client.js'

/** A bare `ws` server: the client is generic, and these cases are about the client alone. */
async function server (t: Test): Promise<{ url: string, wss: WebSocketServer }> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', handleProtocols: (protocols) => protocols.has('matchcast') ? 'matchcast' : false })
  await new Promise<void>((resolve) => wss.once('listening', resolve))
  t.teardown(() => new Promise<void>((resolve) => {
    for (const socket of wss.clients) socket.terminate()
    wss.close(() => resolve())
  }))
  return { url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`, wss }
}

t.test('protocols are offered; the one the server picks is the socket\'s', async (t) => {
  const { url } = await server(t)
  const c = new Client(url, { protocols: ['matchcast'] })
  await c.opened
  t.equal(c.ws.protocol, 'matchcast')
  await c.close()
  t.same(await c.closed, { code: 1000, reason: '' })
})

t.test('next() rejects when no frame comes in time, then reads one that comes later; frames outside the schema are listed', async (t) => {
  const { url, wss } = await server(t)
  const c = new Client(url)
  const [socket] = await Promise.all([new Promise<import('ws').WebSocket>((resolve) => wss.once('connection', resolve)), c.opened])
  await t.rejects(c.next(30), /no frame within 30 ms/)
  socket.send(JSON.stringify({ type: 'pong', id: 'x' }))
  socket.send(JSON.stringify({ type: 'not-a-frame' }))
  t.same(await c.next(), { type: 'pong', id: 'x' })
  t.same(await c.next(), { type: 'not-a-frame' })
  t.same(c.invalid, [{ type: 'not-a-frame' }])
  t.same(c.unread, [])
  socket.close(4000, 'bye')
  await t.rejects(c.next(), /socket closed while waiting for a frame/)
  t.same(await c.closeInfo(), { code: 4000, reason: 'bye' })
  await c.close()
})

t.test('close() while the handshake is under way aborts it; closeInfo() gives up after its wait', async (t) => {
  const { url } = await server(t)
  const c = new Client(url)
  t.equal(c.ws.readyState, c.ws.CONNECTING)
  await c.close()
  t.equal((await c.closed).code, 1006)
  const idle = new Client(url)
  await idle.opened
  await t.rejects(idle.closeInfo(20), /not closed within 20 ms/)
  await idle.close()
})
