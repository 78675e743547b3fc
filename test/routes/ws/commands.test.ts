import type { Socket } from 'node:net'
import t, { type Test } from 'tap'
import type { MatchPatch, Store } from '../../../index.js'
import { as, client, startApp, testSeed, until, type Client } from '../../helper.js'

type T = Test

/** Opens a room for `user` and reads its snapshot. */
async function join (t: T, wsUrl: string, user: string, match = 'm1'): Promise<Client> {
  const c = client(t, wsUrl, `/ws/matches/${match}`, as(user))
  const snapshot = await c.next()
  t.equal(snapshot.type, 'snapshot')
  return c
}

t.test('start → update → finalize: acks to the sender, events to every member, in seq order', async (t) => {
  const { app, wsUrl } = await startApp(t)
  const org = await join(t, wsUrl, 'u-org')
  const watcher = await join(t, wsUrl, 'u-fan')
  const player = await join(t, wsUrl, 'u-a')

  org.send({ type: 'match.start', id: 'start' })
  t.same(await org.next(), { type: 'ack', id: 'start' })
  const started = await watcher.next()
  t.match(started, { type: 'match_started', matchId: 'm1', seq: 1, data: { state: 'live' } })
  t.same(Object.keys(started), ['type', 'matchId', 'seq', 'ts', 'data'])
  t.same(await player.next(), started)
  t.same(await org.next(), started)

  org.send({ type: 'score.update', id: 7, scores: { 'u-a': 2, 'u-b': 1 } })
  t.same(await org.next(), { type: 'ack', id: 7 })
  const scored = await watcher.next()
  t.match(scored, { type: 'score_updated', matchId: 'm1', seq: 2, data: { scores: { 'u-a': 2, 'u-b': 1 } } })
  t.same(await player.next(), scored)
  t.same(await org.next(), scored)

  player.send({ type: 'result.report', id: 'r', scores: { 'u-a': 2, 'u-b': 1 } })
  t.same(await player.next(), { type: 'ack', id: 'r' })
  t.match(await watcher.next(), { type: 'result_reported', seq: 3, data: { by: 'u-a', scores: { 'u-a': 2, 'u-b': 1 } } })

  org.send({ type: 'match.finalize', id: 'fin', scores: { 'u-a': 3, 'u-b': 1 } })
  const completed = await watcher.next()
  t.match(completed, { type: 'match_completed', seq: 4, data: { state: 'completed', scores: { 'u-a': 3, 'u-b': 1 }, winnerId: 'u-a' } })
  // A terminal event flushes at once, so it reaches the sender before its ack.
  t.match(await org.next(), { type: 'result_reported' })
  t.same(await org.next(), completed)
  t.same(await org.next(), { type: 'ack', id: 'fin' })

  const match = await app.matchcast.store.getMatch('m1')
  t.match(match, { state: 'completed', winnerId: 'u-a', scores: { 'u-a': 3, 'u-b': 1 }, version: 4 })
  const certificate = await app.matchcast.store.getCertificateByMatch('m1')
  t.match(certificate, { matchId: 'm1', userId: 'u-a', tournamentName: 'Spring Cup' })
  t.ok(app.matchcast.matches.signer.verify(certificate!, certificate!.code), 'the certificate code verifies')
  t.match(await app.matchcast.store.getPayoutByMatch('m1'), { userId: 'u-a', amount: 5000, currency: 'USD', status: 'pending' })
  for (const c of [org, watcher, player]) t.same(c.invalid, [])
})

t.test('a command\'s event and its ack leave in one write to the sender\'s socket (memory store, no batching window)', async (t) => {
  const { app, wsUrl } = await startApp(t, { batching: { windowMs: 0 } })
  const sockets: Socket[] = []
  app.server.on('connection', (socket: Socket) => sockets.push(socket))
  const org = await join(t, wsUrl, 'u-org')
  const watcher = await join(t, wsUrl, 'u-fan')
  // What each TCP socket of the server writes to the kernel: one entry per write, its chunk count.
  const writes = sockets.map((socket) => {
    const counted: number[] = []
    const stream = socket as Socket & { _write: (...a: unknown[]) => void, _writev: (...a: unknown[]) => void }
    const write = stream._write.bind(stream)
    const writev = stream._writev.bind(stream)
    stream._write = (...args: unknown[]) => { counted.push(1); write(...args) }
    stream._writev = (chunks: unknown, ...rest: unknown[]) => { counted.push((chunks as unknown[]).length); writev(chunks, ...rest) }
    return counted
  })

  org.send({ type: 'match.start', id: 'go' })
  t.match(await watcher.next(), { type: 'match_started', seq: 1 })
  const frames = [await org.next(), await org.next()]
  t.same(new Set(frames.map((f) => f.type)), new Set(['ack', 'match_started']), 'the sender gets both')
  t.equal(writes[0]!.length, 1, `the sender's event and ack went out in one write (writes: ${JSON.stringify(writes[0])})`)
  t.equal(writes[1]!.length, 1, 'the watcher got the event in one write')
})

t.test('a participant of the match receives updates but cannot change the match', async (t) => {
  const { app, wsUrl } = await startApp(t)
  const player = await join(t, wsUrl, 'u-b', 'm2')
  player.send({ type: 'score.update', id: 1, scores: { 'u-b': 9 } })
  t.same(await player.next(), { type: 'error', id: 1, code: 'forbidden', message: 'your role may not send this command' })
  t.same(await player.closeInfo(), { code: 4003, reason: 'forbidden' })
  t.match(await app.matchcast.store.getMatch('m2'), { version: 0, scores: { 'u-b': 0, 'u-c': 0 } }, 'nothing changed')
})

const denied: Array<[string, string, string, Record<string, unknown>]> = [
  ['a spectator', 'u-fan', 'm2', { type: 'result.report', scores: { 'u-b': 1 } }],
  ['a participant of another match', 'u-a', 'm2', { type: 'match.dispute', reason: 'not my match' }],
  ['a participant', 'u-b', 'm2', { type: 'match.finalize', scores: { 'u-b': 1, 'u-c': 0 } }],
  ['a participant', 'u-b', 'm2', { type: 'match.cancel', reason: 'nope' }],
  ['an organizer', 'u-org', 'm2', { type: 'result.report', scores: { 'u-b': 1 } }],
  ['a spectator', 'u-fan', 'm1', { type: 'match.start' }]
]
for (const [who, user, match, command] of denied) {
  t.test(`${who} sending ${String(command.type)} gets forbidden, then close 4003`, async (t) => {
    const { app, wsUrl } = await startApp(t)
    const c = await join(t, wsUrl, user, match)
    const watcher = await join(t, wsUrl, 'u-org2', match)
    c.send({ ...command, id: 'x' })
    t.match(await c.next(), { type: 'error', id: 'x', code: 'forbidden' })
    t.same(await c.closeInfo(), { code: 4003, reason: 'forbidden' })
    t.equal((await app.matchcast.store.getMatch(match))!.version, 0)
    await watcher.ping()
    t.same(watcher.unread, [], 'no event reached the room')
  })
}

t.test('commands outside their states get invalid_state and the connection stays open', async (t) => {
  const { app, wsUrl } = await startApp(t)
  const org = await join(t, wsUrl, 'u-org')
  const player = await join(t, wsUrl, 'u-a')
  const cases: Array<[Client, Record<string, unknown>]> = [
    [org, { type: 'score.update', scores: { 'u-a': 1 } }],
    [org, { type: 'match.finalize', scores: { 'u-a': 1, 'u-b': 0 } }],
    [player, { type: 'result.report', scores: { 'u-a': 1 } }],
    [player, { type: 'match.dispute', reason: 'too early' }]
  ]
  for (const [c, command] of cases) {
    c.send({ ...command, id: 's' })
    t.match(await c.next(), { type: 'error', id: 's', code: 'invalid_state', message: `${String(command.type)} is not allowed while the match is scheduled` })
  }
  await org.ping()
  await player.ping()
  t.equal((await app.matchcast.store.getMatch('m1'))!.version, 0)
})

t.test('dispute, finalize from disputed, dispute after completion, then nothing more', async (t) => {
  const { wsUrl } = await startApp(t)
  const org = await join(t, wsUrl, 'u-org', 'm2')
  const player = await join(t, wsUrl, 'u-c', 'm2')
  player.send({ type: 'match.dispute', id: 1, reason: 'score is wrong' })
  t.same(await player.next(), { type: 'ack', id: 1 })
  t.match(await player.next(), { type: 'match_disputed', seq: 1, data: { state: 'disputed', by: 'u-c', reason: 'score is wrong' } })
  t.match(await org.next(), { type: 'match_disputed', seq: 1 })
  org.send({ type: 'match.finalize', id: 2, scores: { 'u-b': 1, 'u-c': 1 }, winnerId: 'u-c' })
  t.match(await org.next(), { type: 'match_completed', seq: 2, data: { winnerId: 'u-c' } })
  t.same(await org.next(), { type: 'ack', id: 2 })
  player.send({ type: 'match.dispute', id: 3, reason: 'still wrong' })
  t.match(await player.next(), { type: 'match_completed', matchId: 'm2', seq: 2 })
  t.same(await player.next(), { type: 'ack', id: 3 })
  t.match(await player.next(), { type: 'match_disputed', seq: 3 })
  org.send({ type: 'match.cancel', id: 4, reason: 'abandoned' })
  t.match(await org.next(), { type: 'match_disputed', seq: 3 })
  t.match(await org.next(), { type: 'match_cancelled', seq: 4, data: { state: 'cancelled', reason: 'abandoned' } })
  t.same(await org.next(), { type: 'ack', id: 4 })
  org.send({ type: 'match.start', id: 5 })
  t.match(await org.next(), { type: 'error', id: 5, code: 'invalid_state' })
})

t.test('finalize rules: a tie needs winnerId; winner and scores must be participants', async (t) => {
  const { app, wsUrl } = await startApp(t)
  const org = await join(t, wsUrl, 'u-org', 'm2')
  const bad: Array<[Record<string, unknown>, string]> = [
    [{ scores: { 'u-b': 2, 'u-c': 2 } }, 'winnerId: scores are tied; winnerId is required'],
    [{ scores: { 'u-b': 2, 'u-c': 1 }, winnerId: 'u-a' }, 'winnerId: u-a is not a participant of this match'],
    [{ scores: { 'u-b': 2, 'u-z': 1 } }, 'scores: u-z is not a participant of this match']
  ]
  for (const [body, message] of bad) {
    org.send({ type: 'match.finalize', id: 'f', ...body })
    t.same(await org.next(), { type: 'error', id: 'f', code: 'invalid_message', message })
  }
  org.send({ type: 'score.update', id: 'u', scores: { 'u-q': 1 } })
  t.same(await org.next(), { type: 'error', id: 'u', code: 'invalid_message', message: 'scores: u-q is not a participant of this match' })
  t.equal((await app.matchcast.store.getMatch('m2'))!.version, 0)
  org.send({ type: 'match.finalize', id: 'ok', scores: { 'u-c': 4 } })
  t.match(await org.next(), { type: 'match_completed', data: { winnerId: 'u-c', scores: { 'u-c': 4 } } })
  t.same(await org.next(), { type: 'ack', id: 'ok' })
  t.equal(await app.matchcast.store.getPayoutByMatch('m2'), undefined, 'no prize, no payout')
})

t.test('malformed frames get typed errors and the connection stays open', async (t) => {
  const { wsUrl } = await startApp(t)
  const org = await join(t, wsUrl, 'u-org', 'm2')
  org.send('{not json')
  t.same(await org.next(), { type: 'error', code: 'invalid_json', message: 'frame is not valid JSON' })
  org.send('[1,2]')
  t.match(await org.next(), { type: 'error', code: 'invalid_message' })
  org.send('{"id":3}')
  t.match(await org.next(), { type: 'error', id: 3, code: 'invalid_message', message: 'a command is a JSON object with a string "type"' })
  org.send({ type: 'warp', id: 'w' })
  t.same(await org.next(), { type: 'error', id: 'w', code: 'unknown_type', message: 'unknown command type "warp"' })
  org.send({ type: 'toString', id: 'proto' })
  t.match(await org.next(), { type: 'error', id: 'proto', code: 'unknown_type' })
  org.send({ type: 'score.update', id: 'm' })
  const missing = await org.next()
  t.match(missing, { type: 'error', id: 'm', code: 'invalid_message', details: [{ path: '/', message: 'must have required properties scores' }] })
  org.send({ type: 'score.update', id: 'n', scores: { 'u-b': -1 } })
  t.match(await org.next(), { type: 'error', id: 'n', code: 'invalid_message', details: [{ path: '/scores/u-b' }] })
  org.send({ type: 'ping', id: 'p', extra: true })
  t.match(await org.next(), { type: 'error', id: 'p', code: 'invalid_message', details: [{ path: '/extra', message: 'unknown field' }] })
  org.send({ type: 'ping', id: { nested: true } })
  t.match(await org.next(), { type: 'error', code: 'invalid_message' })
  t.notOk('id' in (org.frames.at(-1) as object), 'an id that is not a string or integer is not echoed')
  org.ws.send(Buffer.from('{"type":"ping","id":"bin"}'))
  t.same(await org.next(), { type: 'pong', id: 'bin' }, 'binary frames holding JSON are accepted')
  org.send({ type: 'ping' })
  t.same(await org.next(), { type: 'pong' })
  t.same(org.invalid, [])
})

t.test('two organizers finalizing in the same tick: exactly one wins', async (t) => {
  const { app, wsUrl } = await startApp(t)
  const a = await join(t, wsUrl, 'u-org', 'm2')
  const b = await join(t, wsUrl, 'u-org2', 'm2')
  a.send({ type: 'match.finalize', id: 'a', scores: { 'u-b': 3, 'u-c': 1 } })
  b.send({ type: 'match.finalize', id: 'b', scores: { 'u-b': 0, 'u-c': 5 } })
  const replies = async (c: Client) => {
    const frames = [await c.next(), await c.next()]
    return frames.find((f) => f.type === 'ack' || f.type === 'error')!
  }
  const [ra, rb] = await Promise.all([replies(a), replies(b)])
  const outcomes = [ra, rb].map((r) => (r.type === 'ack' ? 'ack' : r.code)).sort()
  t.ok(outcomes[0] === 'ack' && ['conflict', 'invalid_state'].includes(outcomes[1] as string), `one ack, one conflict or invalid_state: ${outcomes.join(', ')}`)
  const match = await app.matchcast.store.getMatch('m2')
  const winner = ra.type === 'ack' ? 'u-b' : 'u-c'
  t.match(match, { state: 'completed', winnerId: winner, version: 1 })
  const completions = [...a.frames, ...b.frames].filter((f) => (f as { type: string }).type === 'match_completed')
  t.equal(completions.length, 2, 'one match_completed, seen by both organizers')
  t.match(completions, [{ seq: 1, data: { winnerId: winner } }, { seq: 1, data: { winnerId: winner } }])
})

/**
 * Makes another writer (as another instance would) apply `patch` right after this instance's next
 * read of a match, so its compare-and-set loses. Returns the store's own `getMatch`.
 */
function raceNextRead (store: Store, patch: MatchPatch): Store['getMatch'] {
  const getMatch = store.getMatch.bind(store)
  let raced = false
  store.getMatch = async (id) => {
    const m = await getMatch(id)
    if (!raced && m !== undefined) {
      raced = true
      await store.updateMatch(id, m.version, patch)
    }
    return m
  }
  return getMatch
}

t.test('two organizers racing through the store: the loser gets conflict when the state still allows it', async (t) => {
  const { app, wsUrl } = await startApp(t)
  const org = await join(t, wsUrl, 'u-org', 'm2')
  const getMatch = raceNextRead(app.matchcast.store, { scores: { 'u-b': 1, 'u-c': 0 } })
  org.send({ type: 'score.update', id: 'late', scores: { 'u-b': 2, 'u-c': 0 } })
  t.same(await org.next(), { type: 'error', id: 'late', code: 'conflict', message: 'the match changed concurrently; reload and retry' })
  t.match(await getMatch('m2'), { version: 1, scores: { 'u-b': 1 } }, 'the loser changed nothing')
})

t.test('graceful disconnect leaves the room empty and the user\'s slot free', async (t) => {
  const { app, wsUrl } = await startApp(t, { rateLimit: { maxConnectionsPerUser: 1 } })
  const c = await join(t, wsUrl, 'u-org')
  t.equal(app.matchcast.connections.rooms.size('m1'), 1)
  await c.close()
  await until(() => app.matchcast.connections.size === 0)
  t.equal(app.matchcast.connections.rooms.size('m1'), 0)
  const again = await join(t, wsUrl, 'u-org')
  await again.ping()
})

t.test('messages sent before admission completes are handled, in order', async (t) => {
  const { wsUrl } = await startApp(t)
  const c = client(t, wsUrl, '/ws/matches/m2', as('u-org'))
  await c.opened
  c.send({ type: 'ping', id: 1 })
  c.send({ type: 'ping', id: 2 })
  t.match(await c.next(), { type: 'snapshot' })
  t.same(await c.next(), { type: 'pong', id: 1 })
  t.same(await c.next(), { type: 'pong', id: 2 })
})

t.test('an internal failure while applying a command answers internal and keeps the connection', async (t) => {
  const { app, wsUrl } = await startApp(t)
  const org = await join(t, wsUrl, 'u-org', 'm2')
  const updateMatch = app.matchcast.store.updateMatch
  app.matchcast.store.updateMatch = async () => { throw new Error('disk full') }
  org.send({ type: 'score.update', id: 'x', scores: { 'u-b': 1 } })
  t.same(await org.next(), { type: 'error', id: 'x', code: 'internal', message: 'internal error' })
  app.matchcast.store.updateMatch = updateMatch
  org.send({ type: 'score.update', id: 'y', scores: { 'u-b': 1 } })
  t.same(await org.next(), { type: 'ack', id: 'y' })
})

t.test('a match that vanished between read and write answers invalid_state', async (t) => {
  const { app, wsUrl } = await startApp(t)
  const org = await join(t, wsUrl, 'u-org', 'm2')
  const store = app.matchcast.store
  const getMatch = store.getMatch.bind(store)
  let reads = 0
  store.getMatch = async (id) => (++reads === 1 ? getMatch(id) : undefined)
  org.send({ type: 'score.update', id: 'gone', scores: { 'u-b': 1 } })
  store.updateMatch = async () => undefined
  t.same(await org.next(), { type: 'error', id: 'gone', code: 'invalid_state', message: 'score.update is not allowed while the match is gone' })
})

t.test('a match changed to a state that forbids the command between read and write answers invalid_state', async (t) => {
  const { app, wsUrl } = await startApp(t)
  const org = await join(t, wsUrl, 'u-org', 'm2')
  const getMatch = raceNextRead(app.matchcast.store, { state: 'cancelled' })
  org.send({ type: 'score.update', id: 'late', scores: { 'u-b': 2 } })
  t.same(await org.next(), { type: 'error', id: 'late', code: 'invalid_state', message: 'score.update is not allowed while the match is cancelled' })
  t.match(await getMatch('m2'), { state: 'cancelled', version: 1, scores: { 'u-b': 0 } })
})

t.test('a match deleted after joining answers invalid_state', async (t) => {
  const { app, wsUrl } = await startApp(t)
  const org = await join(t, wsUrl, 'u-org', 'm2')
  app.matchcast.store.getMatch = async () => undefined
  org.send({ type: 'match.cancel', id: 'c', reason: 'gone' })
  t.same(await org.next(), { type: 'error', id: 'c', code: 'invalid_state', message: 'match does not exist' })
})

t.test('a certificate names the tournament id when the store has no tournament record', async (t) => {
  const seed = testSeed()
  seed.members.push({ tournamentId: 't-orphan', userId: 'u-org', role: 'organizer' })
  seed.matches.push({ id: 'mo', tournamentId: 't-orphan', participants: ['u-a', 'u-b'], state: 'live', scores: { 'u-a': 4, 'u-b': 2 } })
  const { app, wsUrl } = await startApp(t, {}, seed)
  const org = await join(t, wsUrl, 'u-org', 'mo')
  org.send({ type: 'match.finalize', id: 'f', scores: { 'u-a': 4, 'u-b': 2 } })
  t.match(await org.next(), { type: 'match_completed' })
  t.match(await app.matchcast.store.getCertificateByMatch('mo'), { tournamentName: 't-orphan', userId: 'u-a' })
})
