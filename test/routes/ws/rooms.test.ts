import Fastify from 'fastify'
import fastifyWebsocket from '@fastify/websocket'
import t, { type Test } from 'tap'
import matchcast, { memoryStore } from '../../../index.js'
import { SECRET, as, client, startApp, testSeed, until } from '../../helper.js'

t.test('a tournament room: snapshot of every match, then events of all matches, read-only', async (t) => {
  const { wsUrl } = await startApp(t)
  const org = client(t, wsUrl, '/ws/matches/m1', as('u-org'))
  await org.next()
  org.send({ type: 'match.start', id: 1 })
  t.same(await org.next(), { type: 'ack', id: 1 })
  await org.next()

  const room = client(t, wsUrl, '/ws/tournaments/t1', as('u-fan'))
  const snapshot = await room.next()
  t.match(snapshot, { type: 'snapshot', tournamentId: 't1', role: 'spectator', seqs: { m1: 1, m2: 0, m3: 0 } })
  const epochs = snapshot.epochs as Record<string, string>
  t.same(Object.keys(epochs), ['m1', 'm2', 'm3'], 'an epoch per match')
  const m1Room = client(t, wsUrl, `/ws/matches/m1?lastSeq=1&epoch=${epochs.m1!}`, as('u-fan'))
  await m1Room.opened
  m1Room.send({ type: 'ping', id: 'p' })
  t.same(await m1Room.next(), { type: 'pong', id: 'p' }, 'which a match room resumes from: nothing missed, no snapshot')
  t.same((snapshot.matches as Array<{ id: string, state: string }>).map((m) => [m.id, m.state]), [['m1', 'live'], ['m2', 'live'], ['m3', 'scheduled']])

  const org2 = client(t, wsUrl, '/ws/matches/m2', as('u-org2'))
  await org2.next()
  org2.send({ type: 'score.update', id: 2, scores: { 'u-b': 1 } })
  org.send({ type: 'score.update', id: 3, scores: { 'u-a': 1 } })
  const seen = [await room.next(), await room.next()]
  t.same(seen.map((e) => [e.matchId, e.type, e.seq]).sort(), [['m1', 'score_updated', 2], ['m2', 'score_updated', 1]])

  room.send({ type: 'match.start', id: 'no' })
  t.same(await room.next(), { type: 'error', id: 'no', code: 'forbidden', message: 'tournament rooms are read-only' })
  t.same(await room.closeInfo(), { code: 4003, reason: 'forbidden' })
  t.same(room.invalid, [])
})

t.test('a tournament room answers ping', async (t) => {
  const { wsUrl } = await startApp(t)
  const room = client(t, wsUrl, '/ws/tournaments/t1', as('u-org'))
  t.match(await room.next(), { type: 'snapshot', role: 'organizer' })
  room.send({ type: 'ping', id: 9 })
  t.same(await room.next(), { type: 'pong', id: 9 })
  room.send({ type: 'ping' })
  t.same(await room.next(), { type: 'pong' })
})

t.test('a tournament room refuses unknown tournaments (4004) and non-members (4003)', async (t) => {
  const { wsUrl } = await startApp(t)
  const unknown = client(t, wsUrl, '/ws/tournaments/t404', as('u-org'))
  t.same(await unknown.closeInfo(), { code: 4004, reason: 'not_found' })
  const stranger = client(t, wsUrl, '/ws/tournaments/t2', as('u-org'))
  t.same(await stranger.closeInfo(), { code: 4003, reason: 'forbidden' })
  const anonymous = client(t, wsUrl, '/ws/tournaments/t1')
  t.same(await anonymous.closeInfo(), { code: 4001, reason: 'unauthorized' })
})

t.test('a tournament room whose admission fails closes 1011', async (t) => {
  const { app, wsUrl } = await startApp(t)
  app.matchcast.store.listMatches = async () => { throw new Error('down') }
  const room = client(t, wsUrl, '/ws/tournaments/t1', as('u-org'))
  t.same(await room.closeInfo(), { code: 1011, reason: 'internal_error' })
})

t.test('heartbeat: a peer that does not answer pings is closed 4011; one that does stays', async (t) => {
  const { app, wsUrl } = await startApp(t, { heartbeat: { intervalMs: 20 } })
  const silent = client(t, wsUrl, '/ws/matches/m1', { ...as('u-a'), autoPong: false })
  const lively = client(t, wsUrl, '/ws/matches/m1', as('u-b'))
  await silent.next()
  await lively.next()
  t.same(await silent.closeInfo(), { code: 4011, reason: 'heartbeat_timeout' })
  await lively.ping()
  t.equal(app.matchcast.connections.size, 1)
})

t.test('heartbeat: a peer that never completes the closing handshake is cut off after the grace period', async (t) => {
  const { app, wsUrl } = await startApp(t, { heartbeat: { intervalMs: 10 }, closeGraceMs: 20 })
  const c = client(t, wsUrl, '/ws/matches/m1', { ...as('u-a'), autoPong: false })
  await c.next()
  // Stop reading: the server's close frame is never answered.
  ;(c.ws as unknown as { _socket: { pause (): void } })._socket.pause()
  await until(() => app.matchcast.connections.size === 0)
  t.equal(app.matchcast.connections.size, 0)
  c.ws.terminate()
})

t.test('app.close(): pending batches flush, sockets close 1001, nothing is left running', async (t) => {
  const { app, wsUrl } = await startApp(t, { batching: { windowMs: 60_000 }, heartbeat: { intervalMs: 1000 } })
  const org = client(t, wsUrl, '/ws/matches/m2', as('u-org'))
  const fan = client(t, wsUrl, '/ws/matches/m2', as('u-fan'))
  await org.next()
  await fan.next()
  org.send({ type: 'score.update', id: 1, scores: { 'u-b': 1 } })
  t.same(await org.next(), { type: 'ack', id: 1 })
  t.same(fan.unread, [], 'the event waits for its window')
  await app.close()
  t.match(await fan.next(), { type: 'score_updated', seq: 1 })
  t.same(await fan.closeInfo(), { code: 1001, reason: 'shutdown' })
  t.same(await org.closeInfo(), { code: 1001, reason: 'shutdown' })
  t.equal(app.matchcast.connections.size, 0)
})

t.test('allowedOrigins: another origin is refused with 403 before the upgrade; a listed one connects', async (t) => {
  const { wsUrl } = await startApp(t, { allowedOrigins: ['https://play.example'] })
  const evil = client(t, wsUrl, '/ws/matches/m1', { ...as('u-org'), origin: 'https://evil.example' })
  t.equal(await evil.refused, 403)
  const none = client(t, wsUrl, '/ws/matches/m1', as('u-org'))
  t.equal(await none.refused, 403)
  const good = client(t, wsUrl, '/ws/matches/m1', { ...as('u-org'), origin: 'https://play.example' })
  t.match(await good.next(), { type: 'snapshot' })
})

async function hostApp (t: Test, websocketOptions: Record<string, unknown>) {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(fastifyWebsocket, websocketOptions)
  await app.register(matchcast, { auth: { secret: SECRET }, store: memoryStore(testSeed()), batching: { windowMs: 60_000 }, heartbeat: { intervalMs: 0 }, closeGraceMs: 50 })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as { port: number }
  const org = client(t, `ws://127.0.0.1:${port}`, '/ws/matches/m2', as('u-org'))
  const fan = client(t, `ws://127.0.0.1:${port}`, '/ws/matches/m2', as('u-fan'))
  await org.next()
  await fan.next()
  org.send({ type: 'score.update', id: 1, scores: { 'u-b': 1 } })
  t.same(await org.next(), { type: 'ack', id: 1 })
  return { app, fan }
}

t.test('a host that registered @fastify/websocket itself keeps its preClose: it closes sockets first, without a code', async (t) => {
  const { app, fan } = await hostApp(t, {})
  await app.close()
  t.same(await fan.closeInfo(), { code: 1005, reason: '' })
  t.notOk(fan.frames.some((f) => (f as { type: string }).type === 'score_updated'), 'the pending batch was not flushed to it')
})

t.test('a host that registered @fastify/websocket with a no-op preClose gets matchcast\'s shutdown: flush, then 1001', async (t) => {
  const { app, fan } = await hostApp(t, { preClose: async () => {} })
  await app.close()
  t.match(await fan.next(), { type: 'score_updated', seq: 1 })
  t.same(await fan.closeInfo(), { code: 1001, reason: 'shutdown' })
})
