/**
 * The broker: sequences match events and fans them out to every subscriber of the match, on this
 * instance and (for distributed brokers) on every other instance.
 *
 * Contract (checked for each implementation by `test/conformance/broker.ts`):
 * - `publish(matchId, events)` assigns each event the next `seq` of the match: contiguous (+1 per
 *   event), monotonic, never reused while the broker's storage holds the counter. One call's events
 *   get consecutive seqs and are delivered together, as one array, in seq order.
 * - Ordering: subscribers of a match receive its events in seq order. A broker does not reorder
 *   events of one match; events of different matches are independent.
 * - Delivery: a subscriber gets every event of the match published after it subscribed, exactly
 *   once and in seq order, or is told to resync. The transport may be at-most-once (Redis pub/sub
 *   drops what is published while a connection is down); the broker then fills the gap from its
 *   history, and when history cannot (trimmed, expired, epoch changed, events lost while the
 *   backend was down) it calls the subscription's `onResync` instead of skipping silently.
 * - History: the last events of each match, bounded by count and age. `since(matchId, seq, epoch)`
 *   returns every event after `seq` when history still holds all of them and `epoch` is the match's
 *   current epoch, else `undefined` (the caller resyncs from a snapshot).
 * - Epoch: names a match's sequence. It changes whenever the counter restarts (a memory broker's
 *   process restart, Redis losing the key), so a client can never mistake a new seq 5 for an old one.
 * - Versions (the outbox relay): a stream also records the match version it reflects.
 *   `relay(matchId, batch)` sequences outbox events in version order and is idempotent: an event
 *   whose version the stream already reflects is dropped (it was sequenced by a relay that died
 *   before marking it done), never given a second seq; a batch that would skip versions the
 *   stream lacks is refused as a `gap`, so no change is ever announced before an earlier one.
 *   `position` reports the version (absent until a relay first sets it).
 * - Closed: after `close()` resolves, nothing is delivered and no timer, socket or subscription of
 *   the broker is left. `close()` is idempotent; `publish` after close rejects.
 */
import type { MatchEvent, PendingEvent } from '../../schemas/messages.js'

/** Where a match's sequence stands. */
export interface StreamPosition {
  /** The last assigned seq (0 before the first event). */
  seq: number
  epoch: string
  /** The match version the stream reflects; absent until the outbox relay first sets it. */
  version?: number
}

/** Outbox events of one match for `relay`, in version order. */
export interface RelayBatch {
  events: PendingEvent[]
  /** The match version each event announces; `undefined` for an event from outside the outbox (a host's `emit`). */
  versions: Array<number | undefined>
  /** The match version before the first change the batch accounts for; the stream must reflect it already. */
  base: number
  /** The last match version the batch accounts for (changes whose events were coalesced away included). */
  last: number
  /**
   * Start a new epoch, but only while the stream's version is still this (`null`: none): the
   * changes after it cannot be announced (the outbox has no event for them), so every subscriber
   * resyncs from a snapshot instead. The stream's version becomes `last`.
   */
  rotateFrom?: number | null
}

export type RelayResult =
  /** Sequenced; `events` holds the ones that got a seq (none when all were sequenced before). */
  | { status: 'published', events: MatchEvent[], version: number }
  /** The stream reflects only up to `version` (below `base`): relay what comes before first. Nothing was done. */
  | { status: 'gap', version: number }
  /** A conditional rotation found the stream's version moved on (to `version`, if any). Nothing was done. */
  | { status: 'moved', version: number | undefined }

/** Receives a match's events, in seq order. Must not throw. */
export type EventHandler = (events: MatchEvent[]) => void

/**
 * Told that the match's events since the last delivery cannot be delivered (a gap history cannot
 * fill, or a new epoch): the subscriber must rebuild its state from a fresh snapshot. Events
 * delivered afterwards continue from the stream's current position. Must not throw.
 */
export type ResyncHandler = () => void

export interface Broker {
  /** Sequences, records and fans out `events` (all of one match); resolves with them as delivered. */
  publish (matchId: string, events: PendingEvent[]): Promise<MatchEvent[]>
  /** `publish` for outbox events, checked and recorded by version (see the contract above). */
  relay (matchId: string, batch: RelayBatch): Promise<RelayResult>
  /**
   * Starts delivering the match's events to `handler` (and resync notices to `onResync`); the
   * returned function stops it (idempotent). Synchronous: a position read after `subscribe`
   * returns never misses an event that is later delivered.
   */
  subscribe (matchId: string, handler: EventHandler, onResync?: ResyncHandler): () => void
  position (matchId: string): Promise<StreamPosition>
  /** Events after `afterSeq` if history holds every one of them and `epoch` matches; else `undefined`. */
  since (matchId: string, afterSeq: number, epoch: string): Promise<MatchEvent[] | undefined>
  close (): Promise<void>
}

export interface HistoryOptions {
  /** Events kept per match. */
  historySize: number
  /** Events older than this many milliseconds are dropped from history. */
  historyTtlMs: number
}

/**
 * The local half of every broker: subscribers of this process, per match. A distributed broker
 * hands what it receives to `deliver`; subscription bookkeeping is not repeated per transport.
 */
interface Subscription {
  events: EventHandler
  resync: ResyncHandler | undefined
}

export class LocalSubscribers {
  readonly #handlers = new Map<string, Set<Subscription>>()
  /** Active holds, by reason: every match (`undefined`) or the matches in the set. */
  readonly #holds = new Map<string, ReadonlySet<string> | undefined>()
  /** The matches whose resync notice waits for the holds that cover them to be released. */
  readonly #held = new Set<string>()

  /** Adds a handler; `onFirst` runs when the match gains its first handler, `onLast` when it loses its last. */
  add (matchId: string, handler: EventHandler, onResync?: ResyncHandler, onFirst?: () => void, onLast?: () => void): () => void {
    let set = this.#handlers.get(matchId)
    if (set === undefined) {
      set = new Set()
      this.#handlers.set(matchId, set)
      onFirst?.()
    }
    // A fresh entry per call, so the same function subscribed twice gets two independent subscriptions.
    const entry: Subscription = { events: handler, resync: onResync }
    set.add(entry)
    let active = true
    return () => {
      if (!active) return
      active = false
      set.delete(entry)
      if (set.size === 0) {
        this.#handlers.delete(matchId)
        onLast?.()
      }
    }
  }

  deliver (matchId: string, events: MatchEvent[]): void {
    // A match whose resync notice is held: the snapshot read after the notice reflects these.
    if (this.#held.has(matchId)) return
    const set = this.#handlers.get(matchId)
    if (set === undefined) return
    for (const entry of set) entry.events(events)
  }

  /** Tells every subscriber of the match to resync (once the holds covering it are released). */
  resync (matchId: string): void {
    if (this.#covered(matchId)) {
      this.#held.add(matchId)
      return
    }
    const set = this.#handlers.get(matchId)
    if (set === undefined) return
    for (const entry of set) entry.resync?.()
  }

  /**
   * Holds resync notices of `matchIds` (every match when absent) until `release(reason)`, which
   * gives them in one go (one per match), so a subscriber of many matches (a tournament room) can
   * answer them with one snapshot. A match with a held notice gets no events meanwhile. Holds of
   * different reasons (the command connection, one cluster shard) overlap: a notice is given once
   * no hold covers its match. Holding again under a reason widens that hold.
   */
  hold (reason: string, matchIds?: Iterable<string>): void {
    if (matchIds === undefined || (this.#holds.has(reason) && this.#holds.get(reason) === undefined)) {
      this.#holds.set(reason, undefined)
      return
    }
    this.#holds.set(reason, new Set([...this.#holds.get(reason) ?? [], ...matchIds]))
  }

  /** Ends the hold of `reason`, and gives the held notices no other hold covers. */
  release (reason: string): void {
    if (!this.#holds.delete(reason)) return
    for (const matchId of [...this.#held]) {
      if (this.#covered(matchId)) continue
      this.#held.delete(matchId)
      this.resync(matchId)
    }
  }

  #covered (matchId: string): boolean {
    for (const matchIds of this.#holds.values()) if (matchIds === undefined || matchIds.has(matchId)) return true
    return false
  }

  clear (): void {
    this.#handlers.clear()
    this.#holds.clear()
    this.#held.clear()
  }
}
