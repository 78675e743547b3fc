/**
 * The WebSocket limits end to end, in memory: real `ws` clients against a listening app.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import WebSocket from 'ws'
import { as, client, startApp, until, type Client } from '../../helper.js'

async function admitted (c: Client): Promise<void> {
  const snapshot = await c.next()
  if (snapshot.type !== 'snapshot') throw new Error(`expected a snapshot, got ${JSON.stringify(snapshot)}`)
}

t.test('connections: up to maxConnectionsPerUser are admitted, the next is closed 4008', async (t) => {
  const { app, wsUrl } = await startApp(t, { rateLimit: { maxConnectionsPerUser: 2 } })
  const first = client(t, wsUrl, '/ws/matches/m1', as('u-a'))
  await admitted(first)
  const second = client(t, wsUrl, '/ws/tournaments/t1', as('u-a'))
  await admitted(second)
  const third = client(t, wsUrl, '/ws/matches/m3', as('u-a'))
  t.same(await third.closeInfo(), { code: 4008, reason: 'too_many_connections' })
  t.same(third.frames, [], 'refused before any snapshot')
  await first.close()
  await until(() => app.matchcast.connections.size === 1)
  const fourth = client(t, wsUrl, '/ws/matches/m1', as('u-a'))
  await admitted(fourth)
  await fourth.ping()
})

t.test('connections of one user do not count against another', async (t) => {
  const { wsUrl } = await startApp(t, { rateLimit: { maxConnectionsPerUser: 1 } })
  const a = client(t, wsUrl, '/ws/matches/m1', as('u-a'))
  await admitted(a)
  const b = client(t, wsUrl, '/ws/matches/m1', as('u-b'))
  await admitted(b)
  const again = client(t, wsUrl, '/ws/matches/m1', as('u-a'))
  t.equal((await again.closeInfo()).code, 4008)
})

t.test('messages: a burst under the limit passes, the next message closes 4009', async (t) => {
  const { wsUrl } = await startApp(t, { rateLimit: { messagesPerSecond: 1, burst: 3 } })
  const c = client(t, wsUrl, '/ws/matches/m1', as('u-a'))
  await admitted(c)
  for (let i = 0; i < 3; i++) c.send({ type: 'ping', id: i })
  for (let i = 0; i < 3; i++) t.match(await c.next(), { type: 'pong', id: i })
  c.send({ type: 'ping', id: 'over' })
  t.same(await c.closeInfo(), { code: 4009, reason: 'rate_limited' })
  t.same(c.unread, [], 'the message over the limit is not answered')
})

t.test('the bucket is per user over all their sockets, and users are isolated', async (t) => {
  const { wsUrl } = await startApp(t, { rateLimit: { messagesPerSecond: 1, burst: 2 } })
  const a1 = client(t, wsUrl, '/ws/matches/m1', as('u-a'))
  const a2 = client(t, wsUrl, '/ws/matches/m3', as('u-a'))
  const b = client(t, wsUrl, '/ws/matches/m1', as('u-b'))
  await Promise.all([admitted(a1), admitted(a2), admitted(b)])
  await a1.ping()
  await a2.ping()
  a2.send({ type: 'ping' })
  t.equal((await a2.closeInfo()).code, 4009, 'the third message of the user, on either socket, is over')
  await b.ping()
  await b.ping()
  t.pass('another user still has its whole burst')
})

t.test('cool-down: after a back-off the user may send again', async (t) => {
  const { wsUrl } = await startApp(t, { rateLimit: { messagesPerSecond: 20, burst: 1 } })
  const c = client(t, wsUrl, '/ws/matches/m1', as('u-a'))
  await admitted(c)
  c.send({ type: 'ping' })
  c.send({ type: 'ping' })
  t.equal((await c.closeInfo()).code, 4009)
  // A real back-off (the app's clock): one token is back after 1/20 s.
  await sleep(120)
  const again = client(t, wsUrl, '/ws/matches/m1', as('u-a'))
  await admitted(again)
  await again.ping()
})

/** A valid `ping` of exactly `size` bytes (JSON allows trailing whitespace). */
function frameOf (size: number): string {
  return JSON.stringify({ type: 'ping', id: 'p' }).padEnd(size, ' ')
}

t.test('payload: a frame of exactly maxPayloadBytes is accepted, one byte more closes 4010', async (t) => {
  const { wsUrl } = await startApp(t, { rateLimit: { maxPayloadBytes: 128 } })
  const c = client(t, wsUrl, '/ws/matches/m1', as('u-a'))
  await admitted(c)
  const exact = frameOf(128)
  t.equal(Buffer.byteLength(exact), 128)
  c.send(exact)
  t.match(await c.next(), { type: 'pong' })
  const over = frameOf(129)
  t.equal(Buffer.byteLength(over), 129)
  c.send(over)
  t.same(await c.closeInfo(), { code: 4010, reason: 'payload_too_large' })
})

t.test('payload: with a limit at or above the default transport cap, the cap follows it (4010, not 1009)', async (t) => {
  const limit = 1024 * 1024
  const { wsUrl } = await startApp(t, { rateLimit: { maxPayloadBytes: limit } })
  const c = client(t, wsUrl, '/ws/matches/m1', as('u-a'))
  await admitted(c)
  c.send(frameOf(limit))
  t.match(await c.next(), { type: 'pong' })
  c.send(frameOf(limit + 1))
  t.equal((await c.closeInfo()).code, 4010)
})

t.test('upgrades per IP: over the limit is HTTP 429 before the upgrade, in the error shape', async (t) => {
  const { wsUrl } = await startApp(t, { rateLimit: { upgradesPerIp: 2, upgradeWindowMs: 60_000 } })
  for (let i = 0; i < 2; i++) {
    const c = client(t, wsUrl, '/ws/matches/m1', as('u-a'))
    await admitted(c)
    await c.close()
  }
  const refused = new WebSocket(`${wsUrl}/ws/matches/m1`, as('u-a'))
  refused.on('error', () => {})
  const response = await new Promise<{ status: number, retryAfter: unknown, body: unknown }>((resolve) => {
    refused.on('unexpected-response', (_req, res) => {
      let body = ''
      res.on('data', (chunk: Buffer) => { body += chunk.toString() })
      res.on('end', () => resolve({ status: res.statusCode!, retryAfter: res.headers['retry-after'], body: JSON.parse(body) }))
    })
  })
  t.equal(response.status, 429)
  t.equal(response.retryAfter, '60')
  t.match(response.body, { statusCode: 429, code: 'MATCHCAST_ERR_RATE_LIMITED', error: 'Too Many Requests', message: /too many connection attempts/ })
})

t.test('upgrades per IP: plain HTTP requests to a room are not counted; 0 turns the check off', async (t) => {
  const { app, wsUrl } = await startApp(t, { rateLimit: { upgradesPerIp: 1 } })
  for (let i = 0; i < 3; i++) t.equal((await app.inject({ url: '/ws/matches/m1' })).statusCode, 404)
  const c = client(t, wsUrl, '/ws/matches/m1', as('u-a'))
  await admitted(c)

  const off = await startApp(t, { rateLimit: { upgradesPerIp: 0 } })
  for (let i = 0; i < 3; i++) {
    const d = client(t, off.wsUrl, '/ws/matches/m1', as('u-a'))
    await admitted(d)
    await d.close()
  }
  t.same(await off.app.matchcast.limiter.checkUpgrade('1.2.3.4'), { allowed: true, remaining: Infinity, resetMs: 0, key: 'ip:1.2.3.4' })
})

t.test('the default allows 600 upgrade attempts a minute per IP (many users behind one proxy)', async (t) => {
  const { app } = await startApp(t)
  t.equal(app.matchcast.limiter.options.upgradesPerIp, 600)
  t.equal(app.matchcast.limiter.options.upgradeWindowMs, 60_000)
  for (let i = 0; i < 599; i++) await app.matchcast.limiter.checkUpgrade('10.0.0.1')
  t.match(await app.matchcast.limiter.checkUpgrade('10.0.0.1'), { allowed: true, remaining: 0 })
  t.match(await app.matchcast.limiter.checkUpgrade('10.0.0.1'), { allowed: false, remaining: 0 })
  t.equal(app.matchcast.limiter.mode, 'memory')
})

t.test('limiter.check takes from the same per-user bucket as the room\'s frames', async (t) => {
  const { app, wsUrl } = await startApp(t, { rateLimit: { messagesPerSecond: 1, burst: 3 } })
  const c = client(t, wsUrl, '/ws/matches/m1', as('u-a'))
  await admitted(c)
  c.send({ type: 'ping', id: 1 })
  t.same(await c.next(), { type: 'pong', id: 1 })
  // One token went to the frame: two are left for the host's own checks of the same user.
  t.match(await app.matchcast.limiter.check('u-a'), { allowed: true, remaining: 1, key: 'u-a' })
  t.match(await app.matchcast.limiter.check('u-a'), { allowed: true, remaining: 0, key: 'u-a' })
  t.match(await app.matchcast.limiter.check('u-a'), { allowed: false, key: 'u-a' })
  // The bucket is empty for the room too: its next frame is refused (4009).
  c.send({ type: 'ping', id: 2 })
  t.same(await c.closeInfo(), { code: 4009, reason: 'rate_limited' })
  t.match(await app.matchcast.limiter.check('u-b'), { allowed: true, remaining: 2, key: 'u-b' }, 'per user')
})
