/** A match room (`/ws/matches/:matchId`): the match, its position, and commands. */
import type { Match } from '../schemas/common.js'
import type { MatchEvent } from '../schemas/events.js'
import type { MatchSnapshotFrame } from '../schemas/frames.js'
import type { Command } from './commands.js'
import type { ResolvedOptions } from './options.js'
import { Room } from './room.js'
import { MatchView, type Placement } from './state.js'

/** Where to resume a match room from: the `seq` and `epoch` of the last snapshot or event applied. */
export interface ResumeFrom {
  lastSeq: number
  epoch: string
  /** The match as of `lastSeq`, so `room.state` is known before the next snapshot. */
  match?: Match
}

/** A match's position in its event sequence. */
export interface Position {
  seq: number
  epoch: string
}

export class MatchRoom extends Room<MatchSnapshotFrame> {
  readonly #view: MatchView

  constructor (options: ResolvedOptions, matchId: string, resume: ResumeFrom | undefined, onStop: () => void) {
    super(options, `/ws/matches/${encodeURIComponent(matchId)}`, onStop)
    this.#view = new MatchView(resume)
  }

  /** The match with every event applied; `undefined` until the first snapshot (unless resumed with `match`). */
  get state (): Readonly<Match> | undefined { return this.#view.match }

  /** The last applied event's `seq` and the sequence's `epoch`; `undefined` until the first snapshot. */
  get position (): Position | undefined {
    const { seq, epoch } = this.#view
    return epoch === undefined ? undefined : { seq, epoch }
  }

  /** Sends a command: resolves on its `ack`, rejects with a `MatchcastError` (its code) otherwise. */
  send (command: Command): Promise<void> {
    return this.sendCommand(command)
  }

  protected url (path: string): string {
    const position = this.position
    if (position === undefined) return path
    return `${path}?${new URLSearchParams({ lastSeq: String(position.seq), epoch: position.epoch }).toString()}`
  }

  protected applySnapshot (frame: MatchSnapshotFrame): void {
    this.#view.snapshot(frame)
  }

  protected applyEvent (event: MatchEvent): Placement {
    return this.#view.event(event)
  }
}
