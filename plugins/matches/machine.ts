/**
 * The match state machine: which role may send which command, from which state, and what it
 * changes. Pure: no I/O, no clock (the caller passes `now`), no Fastify.
 */
import assert from 'node:assert'
import type { Match, MatchState, Role, Scores } from '../../schemas/common.js'
import { COMMANDS, COMMAND_TYPES, type MatchCommand, type Sender } from '../../schemas/commands.js'
import type { PendingEvent } from '../../schemas/events.js'
import { CommandError } from '../../lib/errors.js'
import type { MatchPatch } from '../store/store.js'

export interface Actor {
  userId: string
  /** The user's role in the match's tournament. */
  role: Role
}

/** Who may send each match command and from which states: the protocol's command table, as rules. */
export const RULES: { readonly [K in MatchCommand['type']]: { readonly sender: Exclude<Sender, 'any'>, readonly from: readonly MatchState[] } } = Object.fromEntries(COMMAND_TYPES.flatMap((type) => {
  const { sender, from } = COMMANDS[type]
  return from === 'any' ? [] : [[type, { sender, from }]]
})) as never

/** Whether `actor` may send commands of `type` to `match` at all (in any state). */
export function mayIssue (actor: Actor, type: MatchCommand['type'], match: Match): boolean {
  const { sender } = RULES[type]
  if (sender === 'organizer') return actor.role === 'organizer'
  return actor.role === 'participant' && match.participants.includes(actor.userId)
}

export interface Transition {
  patch: MatchPatch
  event: PendingEvent
}

/** Scores must name only participants of the match. */
function checkScores (match: Match, scores: Scores): void {
  const stranger = Object.keys(scores).find((u) => !match.participants.includes(u))
  if (stranger !== undefined) throw new CommandError('invalid_message', `scores: ${stranger} is not a participant of this match`)
}

/**
 * A participant's score: 0 when `scores` has no own entry for them. Ids may be spelled like
 * built-in properties (`toString`, `__proto__`), so inherited ones are never read.
 */
export function scoreOf (scores: Scores, userId: string): number {
  return Object.hasOwn(scores, userId) ? scores[userId]! : 0
}

/**
 * The winner: `winnerId` when given (it must be a participant), else the participant with the
 * highest score; a tie for the highest score without `winnerId` is refused.
 */
export function decideWinner (match: Match, scores: Scores, winnerId?: string): string {
  checkScores(match, scores)
  if (winnerId !== undefined) {
    if (!match.participants.includes(winnerId)) throw new CommandError('invalid_message', `winnerId: ${winnerId} is not a participant of this match`)
    return winnerId
  }
  const ranked = match.participants.map((p) => [p, scoreOf(scores, p)] as const).sort((a, b) => b[1] - a[1])
  const [first, second] = ranked as [readonly [string, number], readonly [string, number]]
  if (first[1] === second[1]) throw new CommandError('invalid_message', 'winnerId: scores are tied; winnerId is required')
  return first[0]
}

/**
 * The transition a command makes. Throws `CommandError` with `forbidden` (role), `invalid_state`
 * (state) or `invalid_message` (scores or winner that do not fit the match). A finalize names the
 * certificate it issues (`certificateId`, chosen by the caller) in the match and in its event.
 */
export function decide (match: Match, actor: Actor, command: MatchCommand, now: Date, certificateId?: string): Transition {
  if (!mayIssue(actor, command.type, match)) throw new CommandError('forbidden')
  if (!RULES[command.type].from.includes(match.state)) {
    throw new CommandError('invalid_state', `${command.type} is not allowed while the match is ${match.state}`)
  }
  const at = now.toISOString()
  switch (command.type) {
    case 'match.start':
      return { patch: { state: 'live', startedAt: at }, event: { type: 'match_started', data: { state: 'live', startedAt: at } } }
    case 'score.update':
      checkScores(match, command.scores)
      return { patch: { scores: command.scores }, event: { type: 'score_updated', data: { scores: command.scores } } }
    case 'result.report':
      checkScores(match, command.scores)
      return { patch: {}, event: { type: 'result_reported', data: { by: actor.userId, scores: command.scores } } }
    case 'match.dispute':
      return {
        patch: { state: 'disputed' },
        event: { type: 'match_disputed', data: { state: 'disputed', by: actor.userId, reason: command.reason } }
      }
    case 'match.finalize': {
      const winnerId = decideWinner(match, command.scores, command.winnerId)
      assert(certificateId !== undefined, 'match.finalize needs the id of the certificate it issues')
      return {
        patch: { state: 'completed', scores: command.scores, winnerId, completedAt: at, certificateId },
        event: { type: 'match_completed', data: { state: 'completed', scores: command.scores, winnerId, completedAt: at, certificateId } }
      }
    }
    case 'match.cancel':
      return { patch: { state: 'cancelled' }, event: { type: 'match_cancelled', data: { state: 'cancelled', reason: command.reason } } }
  }
}
