/** The pure part of the SDK: applying snapshots and events, duplicates and gaps. */
import t from 'tap'
import type { Match, MatchEvent, TournamentSnapshotFrame } from '../../client/index.js'
import { MatchView, TournamentView, applyEvent, place } from '../../client/state.js'

const ts = '2026-11-24T10:00:00.000Z'
const match = (id: string, extra: Partial<Match> = {}): Match =>
  ({ id, tournamentId: 't1', state: 'scheduled', participants: ['u-a', 'u-b'], scores: {}, winnerId: null, version: 0, ...extra })
const started = (matchId: string, seq: number): MatchEvent => ({ type: 'match_started', matchId, seq, ts, data: { state: 'live', startedAt: ts } })

t.test('place: next, duplicate (at or below), gap (beyond next)', async (t) => {
  t.equal(place(3, 4), 'next')
  t.equal(place(3, 3), 'duplicate')
  t.equal(place(3, 1), 'duplicate')
  t.equal(place(3, 5), 'gap')
})

t.test('applyEvent: each event patches what it carries; a report changes nothing', async (t) => {
  const m = match('m1', { state: 'live' })
  const on = (event: Omit<MatchEvent, 'matchId' | 'seq' | 'ts'>) => applyEvent(m, { matchId: 'm1', seq: 1, ts, ...event } as MatchEvent)
  t.same(on({ type: 'match_started', data: { state: 'live', startedAt: ts } }), { ...m, startedAt: ts })
  t.same(on({ type: 'score_updated', data: { scores: { 'u-a': 2 } } }), { ...m, scores: { 'u-a': 2 } })
  t.equal(on({ type: 'result_reported', data: { by: 'u-a', scores: { 'u-a': 9 } } }), m)
  t.same(on({ type: 'match_disputed', data: { state: 'disputed', by: 'u-a', reason: 'lag' } }), { ...m, state: 'disputed' })
  t.same(on({ type: 'match_completed', data: { state: 'completed', scores: { 'u-a': 3 }, winnerId: 'u-a', completedAt: ts, certificateId: 'c1' } }),
    { ...m, state: 'completed', scores: { 'u-a': 3 }, winnerId: 'u-a', completedAt: ts, certificateId: 'c1' })
  t.same(on({ type: 'match_cancelled', data: { state: 'cancelled', reason: 'rain' } }), { ...m, state: 'cancelled' })
  t.same(m, match('m1', { state: 'live' }), 'the match itself is never changed')
})

t.test('MatchView: a snapshot sets match and position; events advance them once each', async (t) => {
  const view = new MatchView()
  t.same([view.match, view.seq, view.epoch], [undefined, 0, undefined])
  view.snapshot({ type: 'snapshot', matchId: 'm1', seq: 4, epoch: 'e', role: 'spectator', match: match('m1') })
  t.equal(view.event(started('m1', 4)), 'duplicate')
  t.equal(view.event(started('m1', 6)), 'gap')
  t.equal(view.event(started('m1', 5)), 'next')
  t.same([view.match?.state, view.seq, view.epoch], ['live', 5, 'e'])
})

t.test('TournamentView: a snapshot replaces all, a resync only its matches; each match has its own seq and epoch', async (t) => {
  const view = new TournamentView()
  const everyIn = (epoch: string, matches: Match[]) => Object.fromEntries(matches.map((m) => [m.id, epoch]))
  const snapshot = (matches: Match[], seqs: Record<string, number>, resync?: true, epochs = everyIn('e1', matches)): TournamentSnapshotFrame =>
    ({ type: 'snapshot', tournamentId: 't1', role: 'spectator', matches, seqs, epochs, ...(resync && { resync }) })
  // `__proto__` is an ordinary match id: its seq is an own key of `seqs`.
  const seqs = JSON.parse('{"m1": 2, "__proto__": 7}') as Record<string, number>
  view.snapshot(snapshot([match('m1'), match('__proto__'), match('m3')], seqs))
  t.same(view.positions(), JSON.parse('{"m1": {"seq": 2, "epoch": "e1"}, "__proto__": {"seq": 7, "epoch": "e1"}, "m3": {"seq": 0, "epoch": "e1"}}'))
  t.ok(Object.hasOwn(view.positions(), '__proto__'))
  t.equal(view.event(started('m1', 3)), 'next')
  t.equal(view.event(started('m3', 1)), 'next')
  t.equal(view.event(started('m3', 1)), 'duplicate')
  t.equal(view.event(started('__proto__', 9)), 'gap')
  t.equal(view.event(started('m9', 1)), 'gap', 'an event of a match not in the room')
  t.same(view.matches.map((m) => [m.id, m.state]), [['m1', 'live'], ['__proto__', 'scheduled'], ['m3', 'live']])
  view.snapshot(snapshot([match('m3', { state: 'cancelled' })], { m3: 5 }, true, { m3: 'e2' }))
  t.same(view.matches.map((m) => [m.id, m.state]), [['m1', 'live'], ['__proto__', 'scheduled'], ['m3', 'cancelled']])
  t.same(view.positions().m3, { seq: 5, epoch: 'e2' }, 'a resync moves its match to its new epoch')
  t.same(view.positions().m1, { seq: 3, epoch: 'e1' }, 'and leaves the others where they are')
  view.snapshot(snapshot([match('m1')], {}, undefined, {}))
  t.same(view.matches.map((m) => m.id), ['m1'])
  t.same(view.positions(), { m1: { seq: 0, epoch: '' } }, 'a match missing from seqs and epochs is at 0, in no epoch')
})
