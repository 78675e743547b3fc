import t from 'tap'
import { COMMANDS, COMMAND_TYPES } from '../../schemas/commands.js'
import type { Match } from '../../schemas/common.js'
import type { MatchEvent } from '../../schemas/events.js'
import { ACTIONS, ScoreDraft, availableActions, clock, describeEvent, formatPrize, matchTitle, scoreLine, scoreOf, stateCounts, type Names } from '../../web/model.js'

const names: Names = (id) => ({ 'u-a': 'Алиса', 'u-b': 'Bob' } as Record<string, string>)[id] ?? id

function match (patch: Partial<Match> = {}): Match {
  return { id: 'm1', tournamentId: 't1', state: 'live', participants: ['u-a', 'u-b'], scores: { 'u-a': 2, 'u-b': 1 }, winnerId: null, version: 3, ...patch }
}

t.test('the board\'s action table is the protocol\'s command table', async (t) => {
  const changing = COMMAND_TYPES.filter((type) => type !== 'ping')
  t.same(Object.keys(ACTIONS).sort(), [...changing].sort())
  for (const type of changing) {
    t.equal(ACTIONS[type].by, COMMANDS[type].sender, `${type}: who`)
    t.same(ACTIONS[type].from, COMMANDS[type].from, `${type}: from`)
  }
})

t.test('actions by role, by being a player of this match, and by state', async (t) => {
  t.same(availableActions(match({ state: 'scheduled' }), 'organizer', 'u-org'), ['match.start', 'match.cancel'])
  t.same(availableActions(match(), 'organizer', 'u-org'), ['score.update', 'match.finalize', 'match.cancel'])
  t.same(availableActions(match({ state: 'disputed' }), 'organizer', 'u-org'), ['match.finalize', 'match.cancel'])
  t.same(availableActions(match({ state: 'completed' }), 'organizer', 'u-org'), [])
  t.same(availableActions(match(), 'participant', 'u-a'), ['result.report', 'match.dispute'])
  t.same(availableActions(match({ state: 'completed' }), 'participant', 'u-b'), ['match.dispute'])
  t.same(availableActions(match(), 'participant', 'u-c'), [], 'a participant of another match only watches')
  t.same(availableActions(match(), 'spectator', 'u-a'), [], 'spectators only watch, even with a participant\'s id')
})

t.test('scores, titles, prizes and counts read as a person would say them', async (t) => {
  t.equal(scoreOf({ 'u-a': 4 }, 'u-a'), 4)
  t.equal(scoreOf({ 'u-a': 4 }, 'toString'), 0, 'a missing score is 0, whatever the id')
  t.equal(scoreLine(['u-a', 'u-b'], { 'u-a': 3, 'u-b': 1 }, names), 'Алиса 3 – 1 Bob')
  t.equal(scoreLine(['u-a', 'u-b', 'u-c'], { 'u-c': 5 }, names), 'Алиса 0, Bob 0, u-c 5')
  t.equal(matchTitle(match(), names), 'Алиса vs Bob')
  t.equal(formatPrize({ amount: 5000, currency: 'USD' }, 'en-US'), '$50.00')
  t.equal(formatPrize({ amount: 5000, currency: 'JPY' }, 'en-US'), '¥5,000', 'a currency without minor units')
  t.equal(clock('2026-11-24T10:04:07.000Z', 'en-GB').length, 8)
  t.equal(stateCounts([match(), match({ state: 'scheduled' }), match({ state: 'scheduled' }), match({ state: 'completed' })]), '1 live · 2 scheduled · 1 final')
  t.equal(stateCounts([]), '')
})

t.test('every event has a readable log line', async (t) => {
  const at = { matchId: 'm1', seq: 1, ts: '2026-11-24T10:00:00.000Z' }
  const m = match()
  const lines: Array<[MatchEvent, string, string]> = [
    [{ ...at, type: 'match_started', data: { state: 'live', startedAt: at.ts } }, 'Started', 'Алиса vs Bob is live'],
    [{ ...at, type: 'score_updated', data: { scores: { 'u-a': 2, 'u-b': 0 } } }, 'Score', 'Алиса 2 – 0 Bob'],
    [{ ...at, type: 'result_reported', data: { by: 'u-b', scores: { 'u-a': 1, 'u-b': 2 } } }, 'Reported', 'Bob reports Алиса 1 – 2 Bob'],
    [{ ...at, type: 'match_disputed', data: { state: 'disputed', by: 'u-b', reason: 'wrong score' } }, 'Disputed', 'Алиса vs Bob · Bob: “wrong score”'],
    [{ ...at, type: 'match_completed', data: { state: 'completed', scores: { 'u-a': 3, 'u-b': 1 }, winnerId: 'u-a', completedAt: at.ts, certificateId: 'c1' } }, 'Final', 'Алиса wins, Алиса 3 – 1 Bob'],
    [{ ...at, type: 'match_cancelled', data: { state: 'cancelled', reason: 'rain' } }, 'Cancelled', 'Алиса vs Bob · “rain”']
  ]
  for (const [event, tag, text] of lines) t.same(describeEvent(event, m, names), { tag, text }, event.type)
  t.same(describeEvent(lines[0]![0], undefined, names), { tag: 'Started', text: 'm1 is live' }, 'a match not known yet is named by id')
})

t.test('a score draft counts each click from the last score sent until the room shows it', async (t) => {
  const players = ['u-a', 'u-b']
  const draft = new ScoreDraft()
  const room = { 'u-a': 0, 'u-b': 0 }
  t.same(draft.shown(room), room, 'nothing sent: the room\'s score')
  t.same(draft.step(players, room, 'u-a', 1), { 'u-a': 1, 'u-b': 0 })
  t.same(draft.step(players, room, 'u-a', 1), { 'u-a': 2, 'u-b': 0 }, 'the room still says 0–0: counted from the last sent')
  t.same(draft.step(players, room, 'u-b', -1), { 'u-a': 2, 'u-b': 0 }, 'never below 0')
  t.same(draft.step(players, room, 'u-b', 1), { 'u-a': 2, 'u-b': 1 })
  draft.seen(players, { 'u-a': 1, 'u-b': 0 })
  t.same(draft.shown({ 'u-a': 1, 'u-b': 0 }), { 'u-a': 2, 'u-b': 1 }, 'an older score of ours: still behind')
  draft.seen(players, { 'u-a': 2, 'u-b': 1 })
  t.same(draft.shown({ 'u-a': 2, 'u-b': 1 }), { 'u-a': 2, 'u-b': 1 }, 'caught up: the room leads again')
  t.same(draft.step(players, { 'u-a': 2, 'u-b': 1 }, 'u-a', 1), { 'u-a': 3, 'u-b': 1 })
  draft.seen(players, { 'u-a': 7, 'u-b': 7 })
  t.same(draft.shown({ 'u-a': 7, 'u-b': 7 }), { 'u-a': 7, 'u-b': 7 }, 'a score we never sent (another organizer\'s): the room leads')
  draft.step(players, room, 'u-a', 1)
  draft.reset()
  t.same(draft.shown(room), room, 'reset: the room leads')
})
