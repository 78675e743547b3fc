/** A tournament room (`/ws/tournaments/:tournamentId`): every match of a tournament, read-only. */
import type { Match } from '../schemas/common.js'
import type { MatchEvent } from '../schemas/events.js'
import type { TournamentSnapshotFrame } from '../schemas/frames.js'
import type { ResolvedOptions } from './options.js'
import type { Position } from './match-room.js'
import { Room } from './room.js'
import { TournamentView, type Placement } from './state.js'

/**
 * The protocol has no resume for tournament rooms: after a reconnect the server sends a fresh
 * snapshot of every match, which replaces the state.
 */
export class TournamentRoom extends Room<TournamentSnapshotFrame> {
  readonly #view = new TournamentView()

  constructor (options: ResolvedOptions, tournamentId: string, onStop: () => void) {
    super(options, `/ws/tournaments/${encodeURIComponent(tournamentId)}`, onStop)
  }

  /** The tournament's matches with every event applied, in the snapshot's order; empty until the first snapshot. */
  get state (): ReadonlyArray<Readonly<Match>> { return this.#view.matches }

  /** Match id → the last applied event's `seq` of that match and its epoch (a match room resumes from it: `client.match(id, { lastSeq: seq, epoch })`). */
  get position (): Readonly<Record<string, Readonly<Position>>> { return this.#view.positions() }

  /** Tournament rooms are read-only: `ping` is the one command (resolves on its `pong`). */
  send (command: { type: 'ping' }): Promise<void> {
    return this.sendCommand(command)
  }

  protected url (path: string): string {
    return path
  }

  protected applySnapshot (frame: TournamentSnapshotFrame): void {
    this.#view.snapshot(frame)
  }

  protected applyEvent (event: MatchEvent): Placement {
    return this.#view.event(event)
  }
}
