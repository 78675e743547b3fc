/**
 * One IP address may hold at most `rateLimit.maxConnectionsPerIp` open WebSocket connections per
 * instance; one more is refused before the upgrade with HTTP 429 in the error shape. Part of the
 * defence against one address holding the server's sockets (the idle-socket report).
 */
import t from 'tap'
import WebSocket from 'ws'
import { as, client, startApp, token, until, type Client } from '../helper.js'

async function admitted (c: Client): Promise<void> {
  const frame = await c.next()
  if (frame.type !== 'snapshot') throw new Error(`expected a snapshot, got ${JSON.stringify(frame)}`)
}

/** An upgrade that is refused: its HTTP status, headers and JSON body. */
async function refusal (url: string, headers: Record<string, string>) {
  const ws = new WebSocket(url, { headers })
  ws.on('error', () => {})
  return await new Promise<{ status: number, body: unknown }>((resolve, reject) => {
    ws.on('open', () => { ws.close(); reject(new Error('the upgrade was accepted')) })
    ws.on('unexpected-response', (_req, res) => {
      let body = ''
      res.on('data', (chunk: Buffer) => { body += chunk.toString() })
      res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(body) }))
    })
  })
}

t.test('over maxConnectionsPerIp: HTTP 429 before the upgrade; a closed connection frees its slot', async (t) => {
  const { app, wsUrl } = await startApp(t, { rateLimit: { maxConnectionsPerIp: 2 } })
  const a = client(t, wsUrl, '/ws/matches/m1', as('u-a'))
  const b = client(t, wsUrl, '/ws/tournaments/t1', as('u-b'))
  await admitted(a)
  await admitted(b)
  const refused = await refusal(`${wsUrl}/ws/matches/m1`, { authorization: `Bearer ${token('u-c')}` })
  t.equal(refused.status, 429)
  t.same(refused.body, { statusCode: 429, code: 'MATCHCAST_ERR_RATE_LIMITED', error: 'Too Many Requests', message: 'too many open connections from this address (at most 2)' })
  t.equal(app.matchcast.connections.size, 2, 'no connection was opened for it')
  await a.close()
  const again = client(t, wsUrl, '/ws/matches/m1', as('u-c'))
  await admitted(again)
})

t.test('refused upgrades do not keep their slot', async (t) => {
  const { wsUrl } = await startApp(t, { rateLimit: { maxConnectionsPerIp: 1 }, allowedOrigins: ['https://play.example'] })
  for (let i = 0; i < 3; i++) {
    t.equal((await refusal(`${wsUrl}/ws/matches/m1`, { authorization: `Bearer ${token('u-a')}`, origin: 'https://evil.example' })).status, 403)
  }
  const c = client(t, wsUrl, '/ws/matches/m1', { ...as('u-a'), origin: 'https://play.example' })
  await admitted(c)
})

t.test('behind a proxy with trustProxy, each client address counts on its own', async (t) => {
  const { wsUrl } = await startApp(t, { rateLimit: { maxConnectionsPerIp: 1 } }, undefined, { trustProxy: true })
  const from = (ip: string, user: string) => ({ headers: { authorization: `Bearer ${token(user)}`, 'x-forwarded-for': ip } })
  const a = client(t, wsUrl, '/ws/matches/m1', from('203.0.113.1', 'u-a'))
  const b = client(t, wsUrl, '/ws/matches/m1', from('203.0.113.2', 'u-b'))
  await admitted(a)
  await admitted(b)
  t.equal((await refusal(`${wsUrl}/ws/matches/m1`, from('203.0.113.1', 'u-c').headers)).status, 429)
})

t.test('0 turns the check off; the default is generous (1000)', async (t) => {
  const { app, wsUrl } = await startApp(t, { rateLimit: { maxConnectionsPerIp: 0, upgradesPerIp: 0 } })
  const clients = ['u-a', 'u-b', 'u-c'].map((user) => client(t, wsUrl, '/ws/matches/m1', as(user)))
  for (const c of clients) await admitted(c)
  t.equal(app.matchcast.connections.size, 3)
  const defaults = await startApp(t)
  t.equal(defaults.app.matchcast.limiter.options.maxConnectionsPerIp, 1000)
})

t.test('injected upgrades (app.injectWS) have no socket or address: the per-IP checks do not count them', async (t) => {
  const { app } = await startApp(t, { rateLimit: { maxConnectionsPerIp: 1, upgradesPerIp: 1 } })
  const sockets = [await app.injectWS('/ws/matches/m1', { headers: { authorization: `Bearer ${token('u-a')}` } }),
    await app.injectWS('/ws/matches/m1', { headers: { authorization: `Bearer ${token('u-b')}` } })]
  t.teardown(() => { for (const s of sockets) s.terminate() })
  await until(() => app.matchcast.connections.size === 2)
})

t.test('maxConnectionsPerIp is validated', async (t) => {
  const fastify = (await import('fastify')).default
  const { default: matchcast } = await import('../../index.js')
  const app = fastify()
  t.teardown(() => app.close())
  app.register(matchcast, { auth: { secret: 'x'.repeat(32) }, rateLimit: { maxConnectionsPerIp: -1 } })
  await t.rejects(async () => { await app.ready() }, { code: 'MATCHCAST_ERR_INVALID_OPTS', message: /rateLimit\.maxConnectionsPerIp: must be >= 0/ })
})
