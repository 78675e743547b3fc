/**
 * The SDK against a real server (`listen({port: 0})`, the `ws` package): snapshots, events, state,
 * commands and their replies, statuses, tournament rooms, resume and resync.
 */
import t from 'tap'
import { MatchcastError, type MatchEvent, type MatchSnapshotFrame, type TournamentSnapshotFrame } from '../../client/index.js'
import { as, client, reply, startApp, token, until } from '../helper.js'
import { instrumentedWebSocket, sdk, watch } from './helper.js'

t.test('a match room: snapshot, live, commands acked, events applied to state in seq order', async (t) => {
  const { app, wsUrl } = await startApp(t)
  const room = sdk(t, wsUrl, 'u-org').match('m1')
  const log = watch<MatchSnapshotFrame>(room)
  t.equal(room.status, 'connecting')
  t.equal(room.state, undefined)
  t.equal(room.position, undefined)
  await log.status('live')
  t.same(log.statuses, ['connecting', 'live'])
  t.match(log.snapshots, [{ type: 'snapshot', matchId: 'm1', seq: 0, role: 'organizer', match: { state: 'scheduled' } }])
  t.same(room.position, { seq: 0, epoch: log.snapshots[0]!.epoch })

  await room.send({ type: 'match.start' })
  await room.send({ type: 'score.update', scores: { 'u-a': 2, 'u-b': 1 } })
  await room.send({ type: 'result.report', scores: { 'u-a': 1 } }).then(() => t.fail('an organizer may not report'), (err: unknown) => {
    t.ok(err instanceof MatchcastError)
    t.match(err, { name: 'MatchcastError', code: 'forbidden', closeCode: undefined, message: 'your role may not send this command' })
  })
  // The room stops after a forbidden command (4003): that is the close-code test's subject; here, reopen.
  await log.status('closed')
  t.match(log.errors, [{ code: 'forbidden', closeCode: 4003 }])

  const again = sdk(t, wsUrl, 'u-org').match('m1')
  const log2 = watch<MatchSnapshotFrame>(again)
  await log2.status('live')
  t.match(again.state, { state: 'live', scores: { 'u-a': 2, 'u-b': 1 } })
  const refused = await again.send({ type: 'match.start' }).catch((err: unknown) => err)
  t.match(refused, { code: 'invalid_state', message: 'match.start is not allowed while the match is live' })
  const invalid = await again.send({ type: 'match.finalize', scores: { 'u-a': 1, 'u-b': 1 } }).catch((err: unknown) => err)
  t.match(invalid, { code: 'invalid_message', message: /tied/, details: undefined })
  // Typed commands cannot be malformed; plain JavaScript can: the server names the field.
  const malformed = await again.send({ type: 'score.update', scores: { 'u-a': -1 } }).catch((err: unknown) => err)
  t.match(malformed, { code: 'invalid_message', details: [{ path: '/scores/u-a', message: /must be >= 0/ }] })
  await again.send({ type: 'ping' })
  await again.send({ type: 'match.finalize', scores: { 'u-a': 3, 'u-b': 1 } })
  await log2.until(() => log2.events.length === 1)
  t.match(log2.events, [{ type: 'match_completed', seq: 3, data: { winnerId: 'u-a' } }])
  const stored = await app.matchcast.store.getMatch('m1')
  const { version: _v, ...expected } = stored!
  t.match(again.state, expected, 'the state is the stored match (but for version)')
  t.same(again.position, { seq: 3, epoch: log2.snapshots[0]!.epoch })
})

t.test('every event type is applied to the state the way the server stores it', async (t) => {
  const { app, wsUrl } = await startApp(t)
  const room = sdk(t, wsUrl, 'u-fan').match('m2')
  const log = watch<MatchSnapshotFrame>(room)
  await log.status('live')
  const player = client(t, wsUrl, '/ws/matches/m2', as('u-b'))
  const org = client(t, wsUrl, '/ws/matches/m2', as('u-org'))
  await Promise.all([player.next(), org.next()])
  player.send({ type: 'result.report', id: 1, scores: { 'u-b': 2 } })
  await log.until(() => log.events.length === 1)
  player.send({ type: 'match.dispute', id: 2, reason: 'lag' })
  await log.until(() => log.events.length === 2)
  t.match(room.state, { state: 'disputed', scores: { 'u-b': 0, 'u-c': 0 } }, 'a report changes nothing, a dispute the state')
  org.send({ type: 'match.cancel', id: 3, reason: 'rain' })
  await log.until(() => log.events.length === 3)
  t.same(log.events.map((e) => [e.seq, e.type]), [[1, 'result_reported'], [2, 'match_disputed'], [3, 'match_cancelled']])
  const { version: _v, ...expected } = (await app.matchcast.store.getMatch('m2'))!
  t.same({ ...room.state, version: 0 }, { ...expected, version: 0 })
})

t.test('a tournament room: every match, their events, ping, read-only', async (t) => {
  const { wsUrl } = await startApp(t)
  const room = sdk(t, wsUrl, 'u-fan').tournament('t1')
  const log = watch<TournamentSnapshotFrame>(room)
  t.same(room.state, [])
  t.same(room.position, {})
  await log.status('live')
  t.same(room.state.map((m) => m.id), ['m1', 'm2', 'm3'])
  const epoch = room.position.m1!.epoch
  t.same(room.position, { m1: { seq: 0, epoch }, m2: { seq: 0, epoch: room.position.m2!.epoch }, m3: { seq: 0, epoch: room.position.m3!.epoch } })
  await room.send({ type: 'ping' })
  const org = client(t, wsUrl, '/ws/matches/m1', as('u-org'))
  const org3 = client(t, wsUrl, '/ws/matches/m3', as('u-org'))
  await Promise.all([org.next(), org3.next()])
  org.send({ type: 'match.start', id: 1 })
  org3.send({ type: 'match.cancel', id: 1, reason: 'rain' })
  await log.until(() => log.events.length === 2)
  org.send({ type: 'score.update', id: 2, scores: { 'u-a': 4 } })
  await log.until(() => log.events.length === 3)
  t.same(log.events.map((e: MatchEvent) => [e.matchId, e.seq]).sort(), [['m1', 1], ['m1', 2], ['m3', 1]])
  t.match(room.state, [{ id: 'm1', state: 'live', scores: { 'u-a': 4 } }, { id: 'm2', state: 'live' }, { id: 'm3', state: 'cancelled' }])
  t.match(room.position, { m1: { seq: 2, epoch }, m2: { seq: 0 }, m3: { seq: 1 } })
  // A match room resumes from the tournament room's position of that match: nothing missed, nothing again.
  const { seq, epoch: from } = room.position.m1!
  const match = sdk(t, wsUrl, 'u-fan').match('m1', { lastSeq: seq, epoch: from })
  const matchLog = watch<MatchSnapshotFrame>(match)
  await matchLog.status('live')
  t.same([matchLog.snapshots.length, matchLog.events.length, match.position], [0, 0, { seq: 2, epoch }])
})

t.test('resume: a dropped socket reconnects with lastSeq/epoch and gets exactly the missed events', async (t) => {
  const { wsUrl } = await startApp(t)
  const ws = instrumentedWebSocket()
  let gate = Promise.resolve()
  const room = sdk(t, wsUrl, 'u-fan', { WebSocket: ws.WebSocket, token: async () => { await gate; return token('u-fan') } }).match('m2')
  const log = watch<MatchSnapshotFrame>(room)
  await log.status('live')
  const player = client(t, wsUrl, '/ws/matches/m2', as('u-b'))
  await player.next()
  player.send({ type: 'result.report', id: 1, scores: { 'u-b': 1 } })
  t.same(await reply(player), { type: 'ack', id: 1 })
  await log.until(() => log.events.length === 1)
  // The connection is cut (no closing handshake: 1006); events happen before the room is back.
  let reopen!: () => void
  gate = new Promise((resolve) => { reopen = resolve })
  ws.sockets[0]!.terminate()
  await log.status('reconnecting')
  for (let i = 2; i <= 4; i++) {
    player.send({ type: 'result.report', id: i, scores: { 'u-b': i } })
    t.same(await reply(player), { type: 'ack', id: i })
  }
  reopen()
  await log.until(() => log.events.length === 4)
  t.same(ws.closes, [1006])
  t.same(log.statuses, ['connecting', 'live', 'reconnecting', 'live'])
  t.same(log.events.map((e) => e.seq), [1, 2, 3, 4], 'every event once, in order')
  t.same(log.events.map((e) => e.type === 'result_reported' && e.data.scores), [{ 'u-b': 1 }, { 'u-b': 2 }, { 'u-b': 3 }, { 'u-b': 4 }])
  t.equal(log.snapshots.length, 1, 'a successful resume sends no snapshot')
  t.equal(room.position!.seq, 4)
})

t.test('resume from a position the caller kept; a stale epoch gets a resync snapshot that replaces the state', async (t) => {
  const { wsUrl } = await startApp(t)
  const first = sdk(t, wsUrl, 'u-fan').match('m2')
  const log = watch<MatchSnapshotFrame>(first)
  await log.status('live')
  const { seq, epoch } = first.position!
  const kept = first.state!
  first.close()
  const player = client(t, wsUrl, '/ws/matches/m2', as('u-b'))
  await player.next()
  player.send({ type: 'match.dispute', id: 1, reason: 'lag' })
  await player.next()

  const resumed = sdk(t, wsUrl, 'u-fan').match('m2', { lastSeq: seq, epoch, match: kept })
  const log2 = watch<MatchSnapshotFrame>(resumed)
  t.equal(resumed.state, kept, 'the kept match is the state until something changes it')
  await log2.until(() => log2.events.length === 1)
  t.same(log2.snapshots, [])
  t.match(resumed.state, { state: 'disputed' })

  const stale = sdk(t, wsUrl, 'u-fan').match('m2', { lastSeq: 5, epoch: 'an-old-epoch' })
  const log3 = watch<MatchSnapshotFrame>(stale)
  t.equal(stale.state, undefined)
  t.same(stale.position, { seq: 5, epoch: 'an-old-epoch' })
  await log3.status('live')
  t.match(log3.snapshots, [{ resync: true, seq: 1, match: { state: 'disputed' } }])
  t.same(stale.position, { seq: 1, epoch })

  // Without `match`, the state stays unknown until a snapshot; events still arrive.
  const blind = sdk(t, wsUrl, 'u-fan').match('m2', { lastSeq: 0, epoch })
  const log4 = watch<MatchSnapshotFrame>(blind)
  await log4.until(() => log4.events.length === 1)
  t.equal(blind.state, undefined)
  t.same(blind.position, { seq: 1, epoch })
})

t.test('close(): pending commands reject with closed; send after close rejects; client.close() closes every room', async (t) => {
  const { wsUrl } = await startApp(t)
  const c = sdk(t, wsUrl, 'u-org')
  const room = c.match('m3')
  const other = c.tournament('t1')
  const log = watch<MatchSnapshotFrame>(room)
  const pending = room.send({ type: 'match.start' })
  room.close()
  room.close()
  await t.rejects(pending, { code: 'closed', message: 'the room was closed before the reply' })
  await t.rejects(room.send({ type: 'ping' }), { code: 'closed', message: 'the room is closed' })
  t.same(log.statuses, ['closed'], 'closed before it started: no connecting')
  const log2 = watch<TournamentSnapshotFrame>(other)
  await log2.status('live')
  c.close()
  t.equal(other.status, 'closed')
  t.same(log2.errors, [])
})

t.test('a token that takes time: closing meanwhile opens nothing', async (t) => {
  const { app, wsUrl } = await startApp(t)
  let give!: (value: string) => void
  const room = sdk(t, wsUrl, 'u-org', { token: () => new Promise<string>((resolve) => { give = resolve }) }).match('m1')
  await until(() => give !== undefined)
  room.close()
  give(token('u-org'))
  await new Promise((resolve) => setImmediate(resolve))
  t.equal(app.matchcast.connections.size, 0)
  t.equal(room.status, 'closed')
})

t.test('a listener that throws does not stop the others, and its error is reported on its own', async (t) => {
  const { wsUrl } = await startApp(t)
  const room = sdk(t, wsUrl, 'u-org').match('m1')
  const heard: string[] = []
  const offBuggy = room.on('status', () => { throw new Error('listener bug') })
  const off = room.on('status', (s) => heard.push(s))
  const saved = process.listeners('uncaughtException')
  process.removeAllListeners('uncaughtException')
  t.teardown(() => { for (const l of saved) process.on('uncaughtException', l) })
  const reported: Error[] = []
  process.on('uncaughtException', (err) => reported.push(err))
  await until(() => room.status === 'live' && reported.length === 2)
  process.removeAllListeners('uncaughtException')
  for (const l of saved) process.on('uncaughtException', l)
  t.same(heard, ['connecting', 'live'])
  t.same(reported.map((e) => e.message), ['listener bug', 'listener bug'])
  offBuggy()
  off()
  room.close()
  t.same(heard, ['connecting', 'live'], 'off() stops listening')
})

t.test('a listener may close the room: nothing more is emitted, nothing breaks', async (t) => {
  const { wsUrl } = await startApp(t, { batching: { windowMs: 100 } })
  const c = sdk(t, wsUrl, 'u-fan')
  const onSnapshot = c.match('m2')
  const heard: string[] = []
  onSnapshot.on('status', (s) => heard.push(s))
  onSnapshot.on('snapshot', () => onSnapshot.close())
  await until(() => onSnapshot.status === 'closed')
  t.same(heard, ['connecting', 'closed'], 'never live')

  const room = c.match('m2')
  const log = watch<MatchSnapshotFrame>(room)
  await log.status('live')
  const events: number[] = []
  room.on('event', (e) => {
    events.push(e.seq)
    room.close()
  })
  const player = client(t, wsUrl, '/ws/matches/m2', as('u-b'))
  await player.next()
  // Two reports in one window arrive as one batch: the room is closed after the first.
  player.send({ type: 'result.report', id: 1, scores: { 'u-b': 1 } })
  player.send({ type: 'result.report', id: 2, scores: { 'u-b': 2 } })
  await reply(player)
  await reply(player)
  await until(() => room.status === 'closed')
  t.same(events, [1])
  t.equal(room.position!.seq, 1)
})
