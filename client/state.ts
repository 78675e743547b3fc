/**
 * Applying what the server sends to the client's view of matches. Pure: no I/O, no clock.
 *
 * Every event carries absolute values (`state`, full `scores`), so applying one is a patch of the
 * match; a `seq` at or below the applied one is a duplicate, one beyond the next is a gap.
 */
import type { Match } from '../schemas/common.js'
import type { MatchEvent } from '../schemas/events.js'
import type { BatchFrame, MatchSnapshotFrame, TournamentSnapshotFrame } from '../schemas/frames.js'

/** Where an event stands against the last applied seq of its match. */
export type Placement = 'next' | 'duplicate' | 'gap'

export function place (appliedSeq: number, seq: number): Placement {
  if (seq <= appliedSeq) return 'duplicate'
  return seq === appliedSeq + 1 ? 'next' : 'gap'
}

/**
 * The match after `event`. `version` is left as the snapshot gave it: events do not carry it (and a
 * coalesced `score_updated` stands for several versions).
 */
export function applyEvent (match: Match, event: MatchEvent): Match {
  switch (event.type) {
    case 'match_started': return { ...match, state: event.data.state, startedAt: event.data.startedAt }
    case 'score_updated': return { ...match, scores: event.data.scores }
    // A report is a participant's claim: it changes nothing in the match.
    case 'result_reported': return match
    case 'match_disputed': return { ...match, state: event.data.state }
    case 'match_completed': {
      const { state, scores, winnerId, completedAt, certificateId } = event.data
      return { ...match, state, scores, winnerId, completedAt, certificateId }
    }
    case 'match_cancelled': return { ...match, state: event.data.state }
  }
}

/** The events of an event frame, in seq order. */
export function eventsOf (frame: BatchFrame | MatchEvent): MatchEvent[] {
  return frame.type === 'batch' ? frame.events : [frame]
}

/** One match room's view: the match (once a snapshot or the caller gave it) and its position. */
export class MatchView {
  match: Match | undefined
  seq: number
  epoch: string | undefined

  constructor (resume: { lastSeq?: number, epoch?: string, match?: Match } = {}) {
    this.match = resume.match
    this.seq = resume.lastSeq ?? 0
    this.epoch = resume.epoch
  }

  snapshot (frame: MatchSnapshotFrame): void {
    this.match = frame.match
    this.seq = frame.seq
    this.epoch = frame.epoch
  }

  /** Applies `event` when it is the next one; says where it stood. */
  event (event: MatchEvent): Placement {
    const placement = place(this.seq, event.seq)
    if (placement === 'next') {
      this.seq = event.seq
      if (this.match !== undefined) this.match = applyEvent(this.match, event)
    }
    return placement
  }
}

/**
 * A tournament room's view: its matches in the snapshot's order, and each one's applied seq. A
 * snapshot replaces every match; a resync snapshot only the matches it holds.
 */
export class TournamentView {
  readonly #matches = new Map<string, Match>()
  readonly #positions = new Map<string, { seq: number, epoch: string }>()
  matches: Match[] = []

  snapshot (frame: TournamentSnapshotFrame): void {
    if (frame.resync !== true) {
      this.#matches.clear()
      this.#positions.clear()
    }
    for (const match of frame.matches) {
      this.#matches.set(match.id, match)
      // Match ids may be spelled like built-in properties: read `seqs` and `epochs` by own keys only.
      this.#positions.set(match.id, {
        seq: Object.hasOwn(frame.seqs, match.id) ? frame.seqs[match.id]! : 0,
        epoch: Object.hasOwn(frame.epochs, match.id) ? frame.epochs[match.id]! : ''
      })
    }
    this.matches = [...this.#matches.values()]
  }

  /** Applies `event` when it is the next one of its match; an event of a match not in the room is a gap. */
  event (event: MatchEvent): Placement {
    const match = this.#matches.get(event.matchId)
    if (match === undefined) return 'gap'
    const position = this.#positions.get(event.matchId)!
    const placement = place(position.seq, event.seq)
    if (placement === 'next') {
      position.seq = event.seq
      const next = applyEvent(match, event)
      this.#matches.set(event.matchId, next)
      this.matches = this.matches.map((m) => (m === match ? next : m))
    }
    return placement
  }

  /** Match id → last applied seq and the epoch it counts in (what a match room resumes from). */
  positions (): Record<string, { seq: number, epoch: string }> {
    const out: Record<string, { seq: number, epoch: string }> = {}
    for (const [id, position] of this.#positions) Object.defineProperty(out, id, { value: { ...position }, enumerable: true })
    return out
  }
}
