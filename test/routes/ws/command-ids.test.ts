/**
 * Exactly-once commands on one instance (memory): a command id is an idempotency key per user and
 * match; the same command with the same id is answered with the remembered reply and applied once.
 */
import t from 'tap'
import { memoryStore } from '../../../index.js'
import { failOnce, holdWrites, join, reply, startApp, testSeed, until, type Client } from '../../helper.js'

/** The event frames a client received (single or batched). */
function events (c: Client): Array<{ type: string, seq: number, data: Record<string, unknown> }> {
  return c.frames.flatMap((f) => {
    const frame = f as { type: string, seq?: number, events?: unknown[] }
    if (frame.type === 'batch') return frame.events as never
    return typeof frame.seq === 'number' && frame.type !== 'snapshot' ? [frame as never] : []
  })
}

t.test('the same command with the same id on the same socket: applied once, the same ack twice', async (t) => {
  const { app, wsUrl } = await startApp(t)
  const org = await join(t, wsUrl, 'u-org', 'm1')
  const fan = await join(t, wsUrl, 'u-fan', 'm1')
  org.send({ type: 'match.start', id: 'start-1' })
  t.same(await reply(org), { type: 'ack', id: 'start-1' })
  // Applied again, this would be invalid_state (the match is live now).
  org.send({ type: 'match.start', id: 'start-1' })
  t.same(await reply(org), { type: 'ack', id: 'start-1' })
  await app.matchcast.events.flush()
  await fan.ping()
  t.same(events(fan).map((e) => e.type), ['match_started'], 'one event')
  t.match(await app.matchcast.store.getMatch('m1'), { state: 'live', version: 1 }, 'one state change')
})

t.test('a retry on a new socket is answered with the first reply, not applied again', async (t) => {
  const { app, wsUrl } = await startApp(t)
  const first = await join(t, wsUrl, 'u-b', 'm2')
  const fan = await join(t, wsUrl, 'u-fan', 'm2')
  first.send({ type: 'result.report', id: 'r-1', scores: { 'u-b': 2, 'u-c': 1 } })
  t.same(await reply(first), { type: 'ack', id: 'r-1' })
  await first.close()
  const retry = await join(t, wsUrl, 'u-b', 'm2')
  retry.send({ type: 'result.report', id: 'r-1', scores: { 'u-c': 1, 'u-b': 2 } })
  t.same(await reply(retry), { type: 'ack', id: 'r-1' }, 'the same content in another key order is the same command')
  await app.matchcast.events.flush()
  await fan.ping()
  t.same(events(fan).map((e) => e.type), ['result_reported'], 'one event')
  t.match(await app.matchcast.store.getMatch('m2'), { version: 1 })
})

t.test('an error reply is remembered too: the retry gets it even once the command would apply', async (t) => {
  const { app, wsUrl } = await startApp(t)
  const org = await join(t, wsUrl, 'u-org', 'm1')
  const early = { type: 'score.update', id: 's-1', scores: { 'u-a': 1 } }
  org.send(early)
  const refused = await reply(org)
  t.match(refused, { type: 'error', id: 's-1', code: 'invalid_state' })
  org.send({ type: 'match.start', id: 'go' })
  t.same(await reply(org), { type: 'ack', id: 'go' })
  org.send(early)
  t.same(await reply(org), refused, 'the same reply')
  t.match(await app.matchcast.store.getMatch('m1'), { scores: { 'u-a': 0 }, version: 1 }, 'not applied')
})

t.test('the same id with another command, or from another user, is a new command', async (t) => {
  const { app, wsUrl } = await startApp(t)
  const b = await join(t, wsUrl, 'u-b', 'm2')
  const c = await join(t, wsUrl, 'u-c', 'm2')
  const fan = await join(t, wsUrl, 'u-fan', 'm2')
  b.send({ type: 'result.report', id: 1, scores: { 'u-b': 1 } })
  t.same(await reply(b), { type: 'ack', id: 1 })
  b.send({ type: 'result.report', id: 1, scores: { 'u-b': 2 } })
  t.same(await reply(b), { type: 'ack', id: 1 })
  b.send({ type: 'result.report', id: '1', scores: { 'u-b': 2 } })
  t.same(await reply(b), { type: 'ack', id: '1' }, 'a string id is not the integer id')
  c.send({ type: 'result.report', id: 1, scores: { 'u-b': 1 } })
  t.same(await reply(c), { type: 'ack', id: 1 })
  await until(() => events(fan).length === 4)
  t.same(events(fan).map((e) => [e.data.by, e.data.scores]),
    [['u-b', { 'u-b': 1 }], ['u-b', { 'u-b': 2 }], ['u-b', { 'u-b': 2 }], ['u-c', { 'u-b': 1 }]])
  t.match(await app.matchcast.store.getMatch('m2'), { version: 4 })
})

t.test('a retry that arrives while the first is still running waits for its reply', async (t) => {
  const store = memoryStore(testSeed())
  const { app, wsUrl } = await startApp(t, { store })
  const { release, writes } = holdWrites(store)
  const ids = app.matchcast.commandIds
  const run = ids.run.bind(ids)
  let runs = 0
  ids.run = async (...args: Parameters<typeof run>) => { runs++; return run(...args) }
  const one = await join(t, wsUrl, 'u-b', 'm2')
  const two = await join(t, wsUrl, 'u-b', 'm2')
  one.send({ type: 'match.dispute', id: 'd', reason: 'lag' })
  await until(() => writes() === 1)
  two.send({ type: 'match.dispute', id: 'd', reason: 'lag' })
  await until(() => runs === 2)
  t.same(two.unread, [], 'no reply before the first has one')
  release()
  t.same(await reply(one), { type: 'ack', id: 'd' })
  t.same(await reply(two), { type: 'ack', id: 'd' })
  t.equal(writes(), 1, 'written once')
  t.match(await app.matchcast.store.getMatch('m2'), { state: 'disputed', version: 1 })
})

t.test('a command that failed inside the server (internal) is not remembered: its retry runs', async (t) => {
  const store = memoryStore(testSeed())
  const { app, wsUrl } = await startApp(t, { store })
  failOnce(store, 'updateMatch')
  const org = await join(t, wsUrl, 'u-org', 'm1')
  org.send({ type: 'match.start', id: 'go' })
  t.same(await reply(org), { type: 'error', id: 'go', code: 'internal', message: 'internal error' })
  org.send({ type: 'match.start', id: 'go' })
  t.same(await reply(org), { type: 'ack', id: 'go' })
  t.match(await app.matchcast.store.getMatch('m1'), { state: 'live', version: 1 })
})

t.test('replies are forgotten after commandIdTtlMs; 0 remembers none', async (t) => {
  for (const ttl of [30, 0]) {
    const { app, wsUrl } = await startApp(t, { commandIdTtlMs: ttl })
    const b = await join(t, wsUrl, 'u-b', 'm2')
    b.send({ type: 'result.report', id: 'r', scores: { 'u-b': 1 } })
    t.same(await reply(b), { type: 'ack', id: 'r' })
    // Waiting out the lifetime is the behaviour under test.
    if (ttl > 0) await new Promise((resolve) => setTimeout(resolve, ttl + 10))
    b.send({ type: 'result.report', id: 'r', scores: { 'u-b': 1 } })
    await until(() => b.frames.filter((f) => (f as { type: string }).type === 'ack').length === 2)
    t.match(await app.matchcast.store.getMatch('m2'), { version: 2 }, `applied again (ttl ${ttl})`)
    t.equal(app.matchcast.commandIds.size, ttl > 0 ? 1 : 0, 'expired replies are swept')
  }
})

t.test('commandIdTtlMs is validated at registration', async (t) => {
  await t.rejects(startApp(t, { commandIdTtlMs: -1 }), { code: 'MATCHCAST_ERR_INVALID_OPTS', message: /matches\.commandIdTtlMs: must be >= 0/ })
})
