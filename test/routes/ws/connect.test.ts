import t from 'tap'
import { createSigner } from 'fast-jwt'
import { SUBPROTOCOL } from '../../../index.js'
import { SECRET, as, client, startApp, token } from '../../helper.js'

t.test('a member connecting to a match room gets a snapshot first', async (t) => {
  const { wsUrl } = await startApp(t)
  const c = client(t, wsUrl, '/ws/matches/m1', as('u-fan'))
  const snapshot = await c.next()
  t.match(snapshot, {
    type: 'snapshot',
    matchId: 'm1',
    seq: 0,
    role: 'spectator',
    match: { id: 'm1', tournamentId: 't1', state: 'scheduled', participants: ['u-a', 'u-b'], scores: { 'u-a': 0, 'u-b': 0 }, winnerId: null, version: 0, prize: { amount: 5000, currency: 'USD' } }
  })
  t.type(snapshot.epoch, 'string')
  await c.ping()
  t.same(c.invalid, [], 'every frame validates against the server-frame schema')
})

t.test('the subprotocol transport is answered with matchcast.v1, never the token', async (t) => {
  const { wsUrl } = await startApp(t)
  const c = client(t, wsUrl, '/ws/matches/m1', { protocols: [SUBPROTOCOL, `bearer.${token('u-a')}`] })
  await c.opened
  t.equal(c.ws.protocol, SUBPROTOCOL)
  t.match(await c.next(), { type: 'snapshot', role: 'participant' })
})

t.test('offering only a bearer entry, the server echoes no protocol: the token never comes back', async (t) => {
  const { wsUrl } = await startApp(t)
  const c = client(t, wsUrl, '/ws/matches/m1', { protocols: [`bearer.${token('u-a')}`] })
  const answered = await new Promise<string | undefined>((resolve) => {
    c.ws.on('upgrade', (res) => resolve(res.headers['sec-websocket-protocol'] as string | undefined))
  })
  t.equal(answered, undefined)
  await t.rejects(c.opened, /no subprotocol/, 'a client that offered protocols refuses a handshake that selects none')
})

t.test('the query transport authenticates', async (t) => {
  const { wsUrl } = await startApp(t)
  const c = client(t, wsUrl, `/ws/matches/m1?token=${token('u-org')}`)
  t.match(await c.next(), { type: 'snapshot', role: 'organizer' })
})

t.test('the header wins over the subprotocol and the query', async (t) => {
  const { wsUrl } = await startApp(t)
  const c = client(t, wsUrl, `/ws/matches/m1?token=${token('u-a')}`, { ...as('u-org'), protocols: [SUBPROTOCOL, `bearer.${token('u-b')}`] })
  t.match(await c.next(), { type: 'snapshot', role: 'organizer' })
})

t.test('the subprotocol wins over the query', async (t) => {
  const { wsUrl } = await startApp(t)
  const c = client(t, wsUrl, `/ws/matches/m1?token=${token('u-org')}`, { protocols: [SUBPROTOCOL, `bearer.${token('u-fan')}`] })
  t.match(await c.next(), { type: 'snapshot', role: 'spectator' })
})

const none = (sub: string) => {
  const enc = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url')
  return `${enc({ alg: 'none', typ: 'JWT' })}.${enc({ sub })}.`
}

const badTokens: Array<[string, () => Record<string, unknown>]> = [
  ['no token', () => ({})],
  ['a malformed token', () => ({ headers: { authorization: 'Bearer not-a-jwt' } })],
  ['an expired token', () => ({ headers: { authorization: `Bearer ${createSigner({ key: SECRET, expiresIn: 1, clockTimestamp: Date.now() - 60_000 })({ sub: 'u-org' })}` } })],
  ['a token with a bad signature', () => ({ headers: { authorization: `Bearer ${token('u-org', { secret: 'another-secret-another-secret-0000' })}` } })],
  ['an alg:none token', () => ({ headers: { authorization: `Bearer ${none('u-org')}` } })],
  ['a token of another algorithm', () => ({ headers: { authorization: `Bearer ${token('u-org', { algorithm: 'HS512' })}` } })],
  ['a token without sub', () => ({ headers: { authorization: `Bearer ${createSigner({ key: SECRET, expiresIn: 60_000 })({ name: 'x' })}` } })],
  ['a token whose sub is not a string', () => ({ headers: { authorization: `Bearer ${createSigner({ key: SECRET, expiresIn: 60_000 })({ sub: 42 })}` } })],
  ['a token whose sub is empty', () => ({ headers: { authorization: `Bearer ${createSigner({ key: SECRET, expiresIn: 60_000 })({ sub: '' })}` } })],
  ['an empty query token', () => ({ query: '?token=' })]
]

for (const [name, options] of badTokens) {
  t.test(`${name} is closed 4001 after the upgrade, before any frame`, async (t) => {
    const { wsUrl } = await startApp(t)
    const { query = '', ...rest } = options() as { query?: string }
    const c = client(t, wsUrl, `/ws/matches/m1${query}`, rest)
    t.same(await c.closeInfo(), { code: 4001, reason: 'unauthorized' })
    t.same(c.frames, [])
  })
}

t.test('an unknown match is closed 4004', async (t) => {
  const { wsUrl } = await startApp(t)
  const c = client(t, wsUrl, '/ws/matches/nope', as('u-org'))
  t.same(await c.closeInfo(), { code: 4004, reason: 'not_found' })
  t.same(c.frames, [])
})

t.test('a user who is not a member of the match\'s tournament is closed 4003', async (t) => {
  const { wsUrl } = await startApp(t)
  const c = client(t, wsUrl, '/ws/matches/m1', as('u-x'))
  t.same(await c.closeInfo(), { code: 4003, reason: 'forbidden' })
  t.same(c.frames, [])
})

t.test('an invalid match id is refused with 400 before the upgrade', async (t) => {
  const { wsUrl } = await startApp(t)
  const c = client(t, wsUrl, '/ws/matches/bad%20id', as('u-org'))
  t.equal(await c.refused, 400)
})

t.test('a failing store closes the connection 1011 and the server stays up', async (t) => {
  const { app, wsUrl } = await startApp(t)
  const getMatch = app.matchcast.store.getMatch
  app.matchcast.store.getMatch = async () => { throw new Error('database is down') }
  const c = client(t, wsUrl, '/ws/matches/m1', as('u-org'))
  t.same(await c.closeInfo(), { code: 1011, reason: 'internal_error' })
  app.matchcast.store.getMatch = getMatch
  const again = client(t, wsUrl, '/ws/matches/m1', as('u-org'))
  t.match(await again.next(), { type: 'snapshot' })
})

t.test('a client that leaves during admission leaves nothing behind', async (t) => {
  const { app, wsUrl } = await startApp(t)
  let release!: () => void
  const gate = new Promise<void>((resolve) => { release = resolve })
  const getRole = app.matchcast.store.getRole
  app.matchcast.store.getRole = async (...args) => { await gate; return getRole.apply(app.matchcast.store, args) }
  const c = client(t, wsUrl, '/ws/matches/m1', as('u-org'))
  await c.opened
  await c.close()
  release()
  const { until } = await import('../../helper.js')
  await until(() => app.matchcast.connections.size === 0 && app.matchcast.connections.rooms.size('m1') === 0)
  t.equal(app.matchcast.connections.size, 0)
  t.equal(app.matchcast.connections.rooms.size('m1'), 0)
})

t.test('a connection closer that fails is logged and the others still run', async (t) => {
  const { until, collectLogs } = await import('../../helper.js')
  const { lines, logger } = collectLogs('error')
  const { app, wsUrl } = await startApp(t, {}, undefined, { logger })
  app.matchcast.limiter.releaseConnection = async () => { throw new Error('limiter store unreachable') }
  const c = client(t, wsUrl, '/ws/matches/m1', as('u-org'))
  await c.next()
  await c.close()
  await until(() => lines.some((l) => l.msg === 'connection closer failed'))
  t.ok(lines.some((l) => JSON.stringify(l).includes('limiter store unreachable')))
  await until(() => app.matchcast.connections.size === 0 && app.matchcast.connections.rooms.size('m1') === 0)
  t.pass('the connection still left its room and the registry')
})
