import { TERMINAL_EVENTS, type MatchEvent } from '../../schemas/messages.js'
import type { MatchEvents } from '../broadcast/index.js'
import type { Connection } from './connection.js'
import { CloseCode } from '../../lib/errors.js'

/** A connection's part in a room: it receives events only once `live`, and buffers them before. */
export interface RoomMember {
  connection: Connection
  /** Until the snapshot or replay has been sent, events are held here instead of sent. */
  held: MatchEvent[][] | undefined
  /**
   * Sends a fresh snapshot of the match with `resync: true` and sets the connection's `lastSeq`
   * of the match to its seq. Called (with live events held) when the member missed events: the
   * broker could not deliver some, or the socket skipped some while its send buffer was full.
   */
  resync: () => Promise<void>
  /** Rooms' own state: the socket is skipping this match's events until it drains. */
  skipping?: boolean
  /** Rooms' own state: a resync is owed once the current hold is released. */
  owed?: boolean
}

/**
 * Resyncs of one connection's matches, coalesced: the matches asked for until the next turn of the
 * event loop (e.g. every match of a tournament when Redis returns) are resynced by one
 * `run(matchIds)` — one tournament snapshot — and each request settles with it.
 */
export function coalesceResyncs (run: (matchIds: string[]) => Promise<void>): (matchId: string) => Promise<void> {
  let batch: { matchIds: string[], done: Promise<void> } | undefined
  return (matchId) => {
    if (batch === undefined) {
      const matchIds: string[] = []
      const done = new Promise((resolve) => setImmediate(resolve)).then(() => {
        batch = undefined
        return run(matchIds)
      })
      batch = { matchIds, done }
    }
    batch.matchIds.push(matchId)
    return batch.done
  }
}

/** Events after `after`, as one frame: a lone event, or a `batch`. */
export function frameOf (matchId: string, events: MatchEvent[]): string {
  return JSON.stringify(events.length === 1 ? events[0] : { type: 'batch', matchId, events })
}

/**
 * The rooms of this instance: per match, the connections that watch it (match rooms and
 * tournament rooms alike). One broker subscription per watched match; each flush is serialized
 * and UTF-8 encoded once and the same bytes go to every socket.
 *
 * Back-pressure: a socket whose send buffer is above its high-water mark skips non-terminal events
 * (terminal ones are still sent) and gets a fresh snapshot with `resync: true` once it drains.
 *
 * Contiguity: a socket gets each match's events only as the next seq after what it has; a batch
 * that would skip seqs (after a snapshot read while Redis did not answer) is replaced by a resync.
 */
export class Rooms {
  readonly #events: MatchEvents
  readonly #rooms = new Map<string, { members: Set<RoomMember>, unsubscribe: () => void }>()

  constructor (events: MatchEvents) {
    this.#events = events
  }

  /** Joins `member` to the match's room; it holds events until `release`. Returns the leave function. */
  join (matchId: string, member: RoomMember): () => void {
    let room = this.#rooms.get(matchId)
    if (room === undefined) {
      const members = new Set<RoomMember>()
      room = {
        members,
        unsubscribe: this.#events.subscribe(matchId,
          (events) => this.#fanOut(matchId, members, events),
          () => { for (const m of members) this.#resync(matchId, m) })
      }
      this.#rooms.set(matchId, room)
    }
    room.members.add(member)
    const joined = room
    return () => {
      joined.members.delete(member)
      if (joined.members.size === 0 && this.#rooms.get(matchId) === joined) {
        this.#rooms.delete(matchId)
        joined.unsubscribe()
      }
    }
  }

  /** Number of connections watching the match on this instance. */
  size (matchId: string): number {
    return this.#rooms.get(matchId)?.members.size ?? 0
  }

  #fanOut (matchId: string, members: Set<RoomMember>, events: MatchEvent[]): void {
    // Encoded once, into the bytes every socket that is up to date gets.
    let shared: Buffer | undefined
    const last = events[events.length - 1]!.seq
    for (const member of members) {
      if (member.held !== undefined) {
        member.held.push(events)
        continue
      }
      const sent = member.connection.lastSeq.get(matchId) ?? 0
      if (last <= sent) continue
      if (member.skipping === true || member.connection.congested) {
        this.#skip(matchId, member, events.filter((e) => e.seq > sent))
      } else if (events[0]!.seq === sent + 1) {
        shared ??= Buffer.from(frameOf(matchId, events))
        member.connection.sendRaw(shared)
      } else if (events[0]!.seq <= sent) {
        member.connection.sendRaw(frameOf(matchId, events.filter((e) => e.seq > sent)))
      } else {
        // The batch does not follow what the socket has (its snapshot was read while the stream
        // could not be: seq 0 of no epoch): never a seq jump on the wire, a fresh snapshot instead.
        this.#resync(matchId, member)
        continue
      }
      member.connection.lastSeq.set(matchId, last)
    }
  }

  /** A congested socket: only terminal events go out; the rest is replaced by a resync once it drains. */
  #skip (matchId: string, member: RoomMember, events: MatchEvent[]): void {
    const terminal = events.filter((e) => TERMINAL_EVENTS.has(e.type))
    if (terminal.length > 0) member.connection.sendRaw(frameOf(matchId, terminal))
    if (member.skipping === true) return
    member.skipping = true
    member.connection.whenDrained(() => {
      member.skipping = false
      this.#resync(matchId, member)
    })
  }

  /** Holds live events, sends a fresh snapshot, then releases (events up to the snapshot's seq are dropped). */
  #resync (matchId: string, member: RoomMember): void {
    const conn = member.connection
    if (conn.state === 'closing') return
    if (member.held !== undefined) {
      // Joining or already resyncing: that snapshot may predate what made this one necessary.
      member.owed = true
      return
    }
    member.held = []
    member.resync().then(() => this.release(matchId, member), (err: unknown) => {
      conn.log.error({ err, matchId }, 'resync failed')
      conn.close(CloseCode.internal)
    })
  }

  /**
   * Sends what `member` held back (only events after its last seq), then lets it receive live. When
   * a resync was asked for meanwhile, the held events are dropped instead: they may not follow the
   * snapshot just sent (the stream moved to a new epoch), and the owed snapshot reflects them.
   */
  release (matchId: string, member: RoomMember): void {
    const held = member.held ?? []
    member.held = undefined
    if (member.owed === true) {
      member.owed = false
      this.#resync(matchId, member)
      return
    }
    for (const events of held) this.#fanOut(matchId, new Set([member]), events)
  }
}
