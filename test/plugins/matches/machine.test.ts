import t from 'tap'
import { RULES, decide, decideWinner, mayIssue, type Actor } from '../../../plugins/matches/machine.js'
import type { Match, MatchState } from '../../../schemas/common.js'
import type { MatchCommand } from '../../../schemas/messages.js'

const now = new Date('2026-01-02T03:04:05.000Z')
const match = (state: MatchState): Match => ({ id: 'm', tournamentId: 't', state, participants: ['a', 'b'], scores: { a: 0, b: 0 }, winnerId: null, version: 3 })
const org: Actor = { userId: 'o', role: 'organizer' }
const playerA: Actor = { userId: 'a', role: 'participant' }
const outsider: Actor = { userId: 'c', role: 'participant' }
const fan: Actor = { userId: 'f', role: 'spectator' }

const commands: Record<MatchCommand['type'], MatchCommand> = {
  'match.start': { type: 'match.start' },
  'score.update': { type: 'score.update', scores: { a: 1 } },
  'result.report': { type: 'result.report', scores: { a: 1, b: 0 } },
  'match.dispute': { type: 'match.dispute', reason: 'r' },
  'match.finalize': { type: 'match.finalize', scores: { a: 2, b: 1 } },
  'match.cancel': { type: 'match.cancel', reason: 'r' }
}
const STATES: MatchState[] = ['scheduled', 'live', 'disputed', 'completed', 'cancelled']

t.test('every command, from every state: allowed exactly where the table says', async (t) => {
  for (const [type, command] of Object.entries(commands) as Array<[MatchCommand['type'], MatchCommand]>) {
    const actor = RULES[type].sender === 'organizer' ? org : playerA
    for (const state of STATES) {
      if (RULES[type].from.includes(state)) {
        t.doesNotThrow(() => decide(match(state), actor, command, now, 'c-1'), `${type} from ${state}`)
      } else {
        t.throws(() => decide(match(state), actor, command, now), { code: 'invalid_state', message: `${type} is not allowed while the match is ${state}` })
      }
    }
  }
})

t.test('role gates: organizers, the match\'s own participants, nobody else', async (t) => {
  const m = match('live')
  t.ok(mayIssue(org, 'match.start', m))
  t.notOk(mayIssue(playerA, 'match.start', m))
  t.ok(mayIssue(playerA, 'result.report', m))
  t.notOk(mayIssue(outsider, 'result.report', m), 'a participant of another match only watches')
  t.notOk(mayIssue(org, 'result.report', m))
  t.notOk(mayIssue(fan, 'match.dispute', m))
  t.throws(() => decide(m, fan, commands['score.update'], now), { code: 'forbidden' })
  t.throws(() => decide(match('cancelled'), fan, commands['match.start'], now), { code: 'forbidden' }, 'role is checked before state')
})

t.test('each transition: the patch and the event', async (t) => {
  const at = now.toISOString()
  t.same(decide(match('scheduled'), org, commands['match.start'], now), { patch: { state: 'live', startedAt: at }, event: { type: 'match_started', data: { state: 'live', startedAt: at } } })
  t.same(decide(match('live'), org, commands['score.update'], now), { patch: { scores: { a: 1 } }, event: { type: 'score_updated', data: { scores: { a: 1 } } } })
  t.same(decide(match('live'), playerA, commands['result.report'], now), { patch: {}, event: { type: 'result_reported', data: { by: 'a', scores: { a: 1, b: 0 } } } })
  t.same(decide(match('completed'), playerA, commands['match.dispute'], now), { patch: { state: 'disputed' }, event: { type: 'match_disputed', data: { state: 'disputed', by: 'a', reason: 'r' } } })
  t.same(decide(match('disputed'), org, commands['match.finalize'], now, 'c-1'), {
    patch: { state: 'completed', scores: { a: 2, b: 1 }, winnerId: 'a', completedAt: at, certificateId: 'c-1' },
    event: { type: 'match_completed', data: { state: 'completed', scores: { a: 2, b: 1 }, winnerId: 'a', completedAt: at, certificateId: 'c-1' } }
  })
  t.throws(() => decide(match('live'), org, commands['match.finalize'], now), { message: /needs the id of the certificate/ }, 'a finalize names its certificate')
  t.same(decide(match('live'), org, commands['match.cancel'], now), { patch: { state: 'cancelled' }, event: { type: 'match_cancelled', data: { state: 'cancelled', reason: 'r' } } })
  t.throws(() => decide(match('live'), playerA, { type: 'result.report', scores: { z: 1 } }, now), { code: 'invalid_message' })
})

t.test('winner: explicit, else highest score; a tie needs winnerId', async (t) => {
  const m = match('live')
  t.equal(decideWinner(m, { a: 1, b: 5 }), 'b')
  t.equal(decideWinner(m, { a: 5 }), 'a', 'a missing score counts as 0')
  t.equal(decideWinner(m, { a: 1, b: 1 }, 'a'), 'a')
  t.throws(() => decideWinner(m, { a: 1, b: 1 }), { code: 'invalid_message', message: 'winnerId: scores are tied; winnerId is required' })
  t.throws(() => decideWinner(m, {}), { code: 'invalid_message' }, 'no scores at all is a tie')
  t.throws(() => decideWinner(m, { a: 1 }, 'z'), { code: 'invalid_message' })
})
