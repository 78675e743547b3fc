/**
 * Reconciliation at admission and resume: a change the store holds but the stream never announced
 * (the instance that committed it died before relaying its event) reaches every room before a
 * client sees a snapshot or a replay; a change the outbox cannot account for resyncs every room.
 * A write straight to the store with an event stands for the dead instance's commit.
 */
import t from 'tap'
import type { PendingEvent } from '../../../schemas/messages.js'
import { as, client, startApp } from '../../helper.js'
import { eventsIn, type Frame } from '../../plugins/broadcast/fixtures.js'

const scored = (n: number): PendingEvent => ({ type: 'score_updated', data: { scores: { 'u-b': n } } })
const reported = (n: number): PendingEvent => ({ type: 'result_reported', data: { by: 'u-b', scores: { 'u-b': n } } })

t.test('an unrelayed change is relayed before a new member\'s snapshot; members already in get it as an event', async (t) => {
  const { app, wsUrl } = await startApp(t)
  const fan = client(t, wsUrl, '/ws/matches/m2', as('u-fan'))
  t.match(await fan.next(), { type: 'snapshot', seq: 0 })
  await app.matchcast.store.updateMatch('m2', 0, { scores: { 'u-b': 5 } }, scored(5))
  const late = client(t, wsUrl, '/ws/matches/m2', as('u-a'))
  t.match(await late.next(), { type: 'snapshot', seq: 1, match: { version: 1, scores: { 'u-b': 5 } } }, 'the snapshot\'s seq covers the change')
  t.match(await fan.next(), { type: 'score_updated', seq: 1, data: { scores: { 'u-b': 5 } } })
  await fan.ping()
  await late.ping()
  t.same([...fan.unread, ...late.unread], [], 'once, and nothing for the member whose snapshot holds it')
  t.same(await app.matchcast.store.pendingEvents('m2', 0), [], 'the outbox is empty')
})

t.test('a resume replays an unrelayed change too', async (t) => {
  const { app, wsUrl } = await startApp(t)
  const first = client(t, wsUrl, '/ws/matches/m2', as('u-fan'))
  const { epoch } = await first.next()
  await first.close()
  await app.matchcast.store.updateMatch('m2', 0, {}, reported(1))
  await app.matchcast.store.updateMatch('m2', 1, {}, reported(2))
  await app.matchcast.store.updateMatch('m2', 2, { scores: { 'u-b': 1 } }, scored(1))
  await app.matchcast.store.updateMatch('m2', 3, { scores: { 'u-b': 2 } }, scored(2))
  const resumed = client(t, wsUrl, `/ws/matches/m2?lastSeq=0&epoch=${String(epoch)}`, as('u-fan'))
  const replay = await resumed.next()
  t.same(eventsIn(replay).map((e) => [e.seq, e.type, e.data]), [
    [1, 'result_reported', reported(1).data],
    [2, 'result_reported', reported(2).data],
    [3, 'score_updated', { scores: { 'u-b': 2 } }]
  ], 'in order, no snapshot; relayed like a window, so the older score update gave way to the newer')
})

t.test('a tournament room reconciles each of its matches before its snapshot', async (t) => {
  const { app, wsUrl } = await startApp(t)
  await app.matchcast.store.updateMatch('m2', 0, { scores: { 'u-b': 3 } }, scored(3))
  const room = client(t, wsUrl, '/ws/tournaments/t1', as('u-fan'))
  const snapshot = await room.next<Frame>()
  t.match(snapshot, { type: 'snapshot', tournamentId: 't1', seqs: { m1: 0, m2: 1, m3: 0 } })
  t.match((snapshot.matches as Frame[]).find((m) => m.id === 'm2'), { version: 1, scores: { 'u-b': 3 } })
  await room.ping()
  t.same(room.unread, [])
})

t.test('a change made without an event resyncs every room in a new epoch', async (t) => {
  const { app, wsUrl } = await startApp(t)
  const org = client(t, wsUrl, '/ws/matches/m2', as('u-org'))
  const { epoch } = await org.next()
  org.send({ type: 'score.update', id: 1, scores: { 'u-b': 1 } })
  t.same(await org.next(), { type: 'ack', id: 1 })
  t.match(await org.next(), { type: 'score_updated', seq: 1 })
  // A host writing the store without an event: no outbox entry announces version 2.
  await app.matchcast.store.updateMatch('m2', 1, { scores: { 'u-b': 9 } })
  const late = client(t, wsUrl, '/ws/matches/m2', as('u-fan'))
  const snapshot = await late.next()
  t.match(snapshot, { type: 'snapshot', match: { version: 2, scores: { 'u-b': 9 } } })
  t.not(snapshot.epoch, epoch, 'a new epoch')
  t.match(await org.next(), { type: 'snapshot', resync: true, epoch: snapshot.epoch, match: { scores: { 'u-b': 9 } } }, 'the member already in resyncs')
})

t.test('with no room asking, the sweeper relays a dead instance\'s change once its lease expired', async (t) => {
  const { app, wsUrl } = await startApp(t, { outbox: { leaseMs: 50, sweepIntervalMs: 20 } })
  const fan = client(t, wsUrl, '/ws/matches/m2', as('u-fan'))
  await fan.next()
  await app.matchcast.store.updateMatch('m2', 0, { scores: { 'u-b': 7 } }, scored(7))
  t.match(await fan.next(), { type: 'score_updated', seq: 1, data: { scores: { 'u-b': 7 } } })
})

t.test('outbox options are checked at registration', async (t) => {
  await t.rejects(startApp(t, { outbox: { leaseMs: 10 } }), { code: 'MATCHCAST_ERR_INVALID_OPTS', message: /outbox\.leaseMs/ })
  await t.rejects(startApp(t, { outbox: { sweepIntervalMs: 0 } }), { code: 'MATCHCAST_ERR_INVALID_OPTS', message: /outbox\.sweepIntervalMs/ })
})

t.test('a match that moves at every admission read is shown after three reads; its last change follows as an event', async (t) => {
  const { app, wsUrl } = await startApp(t, { outbox: { leaseMs: 50, sweepIntervalMs: 20 } })
  const { store, events } = app.matchcast
  // Another instance commits a change (and dies before relaying it) right before each read here:
  // admission reads the match once to admit, then once per round.
  const read = store.getMatch.bind(store)
  let commits = 0
  store.getMatch = async (id) => {
    const match = (await read(id))!
    if (id !== 'm2' || commits === 4) return match
    commits++
    return await store.updateMatch('m2', match.version, { scores: { 'u-b': commits } }, scored(commits))
  }
  const reconcile = events.reconcile.bind(events)
  let repairs = 0
  events.reconcile = async (...args) => {
    const repaired = await reconcile(...args)
    if (repaired) repairs++
    return repaired
  }
  const fan = client(t, wsUrl, '/ws/matches/m2', as('u-fan'))
  const snapshot = await fan.next<Frame>()
  t.match(snapshot, { type: 'snapshot', seq: 2, match: { version: 4, scores: { 'u-b': 4 } } }, 'the match as the last read found it')
  t.equal(repairs, 2, 'two repairs, then the room stops reading again')
  // The last change's event is still in the outbox: the sweeper relays it, next in the sequence.
  t.match(await fan.next<Frame>(), { type: 'score_updated', seq: 3, data: { scores: { 'u-b': 4 } } })
  t.same(await store.pendingEvents('m2', 0), [], 'the outbox is empty')
})
