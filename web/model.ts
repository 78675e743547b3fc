/**
 * What the board shows, as plain functions of the protocol's data (no DOM, no I/O): which actions
 * a user has on a match, and the words and numbers of cards, scoreboards and the event log. The
 * page renders these; the Node tests check them against the protocol tables.
 */
import type { Command } from '../client/index.js'
import type { Match, MatchState, Prize, Role } from '../schemas/common.js'
import type { MatchEvent } from '../schemas/events.js'

/** A command of the board's actions, as the SDK sends it (it assigns the id). */
export type Action = Exclude<Command, { type: 'ping' }>
export type ActionType = Action['type']
/** Who may send an action: an organizer, or a participant of this very match ("player"). */
export type Actor = 'organizer' | 'player'

/**
 * The actions of the board: who may send each and from which states. The page keeps this copy so
 * it does not bundle the schemas; a test holds it equal to `COMMANDS` in `schemas/commands.ts`.
 */
export const ACTIONS: Readonly<Record<ActionType, { label: string, done: string, by: Actor, from: readonly MatchState[] }>> = {
  'match.start': { label: 'Start match', done: 'Match started.', by: 'organizer', from: ['scheduled'] },
  'score.update': { label: 'Live score', done: 'Score sent.', by: 'organizer', from: ['live'] },
  'match.finalize': { label: 'Finalize', done: 'Match finalized.', by: 'organizer', from: ['live', 'disputed'] },
  'match.cancel': { label: 'Cancel match', done: 'Match cancelled.', by: 'organizer', from: ['scheduled', 'live', 'disputed'] },
  'result.report': { label: 'Report result', done: 'Result reported.', by: 'player', from: ['live'] },
  'match.dispute': { label: 'Dispute', done: 'Dispute sent.', by: 'player', from: ['live', 'completed'] }
}

/** What each role does on the board, for the sign-in choices. */
export const ROLE_HINTS: Readonly<Record<Role, string>> = {
  organizer: 'Starts, scores, finalizes and cancels matches',
  participant: 'Plays: reports results and disputes them',
  spectator: 'Watches every match live'
}

/** The actions `userId` (with `role` in the match's tournament) may take on `match` now, in table order. */
export function availableActions (match: Match, role: Role, userId: string): ActionType[] {
  const actor: Actor | undefined = role === 'organizer'
    ? 'organizer'
    : role === 'participant' && match.participants.includes(userId) ? 'player' : undefined
  return (Object.keys(ACTIONS) as ActionType[]).filter((type) => ACTIONS[type].by === actor && ACTIONS[type].from.includes(match.state))
}

export const STATE_LABELS: Readonly<Record<MatchState, string>> = {
  scheduled: 'Scheduled',
  live: 'Live',
  disputed: 'Disputed',
  completed: 'Final',
  cancelled: 'Cancelled'
}

/** Display names by user id; an id without a name is shown as itself. */
export type Names = (id: string) => string

/** A participant's score; a participant without one has 0. */
export function scoreOf (scores: Match['scores'], id: string): number {
  return Object.hasOwn(scores, id) ? scores[id]! : 0
}

/** `Alice 3 – 1 Bob` (every participant, in the match's order). */
export function scoreLine (participants: readonly string[], scores: Match['scores'], names: Names): string {
  if (participants.length === 2) {
    const [a, b] = participants as [string, string]
    return `${names(a)} ${scoreOf(scores, a)} – ${scoreOf(scores, b)} ${names(b)}`
  }
  return participants.map((p) => `${names(p)} ${scoreOf(scores, p)}`).join(', ')
}

/** `Alice vs Bob`. */
export function matchTitle (match: Pick<Match, 'participants'>, names: Names): string {
  return match.participants.map(names).join(' vs ')
}

/** A prize in its currency's major unit, e.g. `$50.00` for 5000 USD cents. */
export function formatPrize (prize: Prize, locale?: string): string {
  const format = new Intl.NumberFormat(locale, { style: 'currency', currency: prize.currency })
  return format.format(prize.amount / 10 ** format.resolvedOptions().maximumFractionDigits!)
}

/** `14:03:07`, in the viewer's time zone. */
export function clock (iso: string, locale?: string): string {
  return new Date(iso).toLocaleTimeString(locale, { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false })
}

/** One event as a log line: a short tag and a sentence, e.g. `Score` / `Alice 2 – 1 Bob`. */
export function describeEvent (event: MatchEvent, match: Pick<Match, 'participants'> | undefined, names: Names): { tag: string, text: string } {
  const players = match?.participants ?? []
  const title = matchTitle({ participants: players }, names) || event.matchId
  switch (event.type) {
    case 'match_started': return { tag: 'Started', text: `${title} is live` }
    case 'score_updated': return { tag: 'Score', text: scoreLine(players, event.data.scores, names) }
    case 'result_reported': return { tag: 'Reported', text: `${names(event.data.by)} reports ${scoreLine(players, event.data.scores, names)}` }
    case 'match_disputed': return { tag: 'Disputed', text: `${title} · ${names(event.data.by)}: “${event.data.reason}”` }
    case 'match_completed': return { tag: 'Final', text: `${names(event.data.winnerId)} wins, ${scoreLine(players, event.data.scores, names)}` }
    case 'match_cancelled': return { tag: 'Cancelled', text: `${title} · “${event.data.reason}”` }
  }
}

/** Matches by state, for the board's summary line: `1 live · 2 scheduled`. */
export function stateCounts (matches: readonly Pick<Match, 'state'>[]): string {
  const order: MatchState[] = ['live', 'disputed', 'scheduled', 'completed', 'cancelled']
  return order
    .map((state) => [state, matches.filter((m) => m.state === state).length] as const)
    .filter(([, n]) => n > 0)
    .map(([state, n]) => `${n} ${state === 'completed' ? 'final' : state}`)
    .join(' · ')
}

/**
 * An organizer's live score while clicking −1/+1: each click counts from the last score this
 * window sent until the room shows it, because the ack and the event of a command travel apart
 * (and a batch window keeps only the latest score), so the room's state may still be behind when
 * the next click comes.
 */
export class ScoreDraft {
  /** Keys of the scores sent since the room last caught up, oldest first. */
  #sent: string[] = []
  #scores: Match['scores'] | undefined

  /** The scores after moving `participant` by `by` (never below 0), counted from the last sent, else from `current`. */
  step (participants: readonly string[], current: Match['scores'], participant: string, by: number): Match['scores'] {
    const base = this.#scores ?? current
    const next = Object.fromEntries(participants.map((p) => [p, Math.max(0, scoreOf(base, p) + (p === participant ? by : 0))]))
    this.#scores = next
    this.#sent.push(key(participants, next))
    return next
  }

  /** What to show: the last sent until the room caught up, else the room's. */
  shown (current: Match['scores']): Match['scores'] {
    return this.#scores ?? current
  }

  /**
   * A `score_updated` arrived. The room caught up when it carries the last score sent, or a score
   * this window never sent (another organizer's, newer): either way the room's state leads again.
   */
  seen (participants: readonly string[], scores: Match['scores']): void {
    const seen = key(participants, scores)
    if (seen === this.#sent.at(-1) || !this.#sent.includes(seen)) this.reset()
  }

  /** The room's state was replaced (a snapshot) or the match left live: forget the draft. */
  reset (): void {
    this.#sent = []
    this.#scores = undefined
  }
}

function key (participants: readonly string[], scores: Match['scores']): string {
  return participants.map((p) => scoreOf(scores, p)).join(',')
}
