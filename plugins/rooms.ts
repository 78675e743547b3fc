import type { MatchEvent } from '../schemas/messages.js'
import type { MatchEvents } from './broadcast/index.js'
import type { Connection } from './connection.js'

/** A connection's part in a room: it receives events only once `live`, and buffers them before. */
export interface RoomMember {
  connection: Connection
  /** Until the snapshot or replay has been sent, events are held here instead of sent. */
  held: MatchEvent[][] | undefined
}

/** Events after `after`, as one frame: a lone event, or a `batch`. */
export function frameOf (matchId: string, events: MatchEvent[]): string {
  return JSON.stringify(events.length === 1 ? events[0] : { type: 'batch', matchId, events })
}

/**
 * The rooms of this instance: per match, the connections that watch it (match rooms and
 * tournament rooms alike). One broker subscription per watched match; each flush is serialized
 * once and the same bytes go to every socket.
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
      room = { members, unsubscribe: this.#events.subscribe(matchId, (events) => this.#fanOut(matchId, members, events)) }
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
    let shared: string | undefined
    const last = events[events.length - 1]!.seq
    for (const member of members) {
      if (member.held !== undefined) {
        member.held.push(events)
        continue
      }
      const sent = member.connection.lastSeq.get(matchId) ?? 0
      if (last <= sent) continue
      if (events[0]!.seq > sent) {
        shared ??= frameOf(matchId, events)
        member.connection.sendRaw(shared)
      } else {
        member.connection.sendRaw(frameOf(matchId, events.filter((e) => e.seq > sent)))
      }
      member.connection.lastSeq.set(matchId, last)
    }
  }

  /** Sends what `member` held back (only events after its last seq), then lets it receive live. */
  release (matchId: string, member: RoomMember): void {
    const held = member.held ?? []
    member.held = undefined
    for (const events of held) this.#fanOut(matchId, new Set([member]), events)
  }
}
