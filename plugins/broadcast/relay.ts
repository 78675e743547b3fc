/**
 * The outbox relay: from the store's outbox to the broker, so that no committed change goes
 * unannounced. A command's event is written to the outbox in the transaction of its change; the
 * relay sequences it (through the batch window, so latest-wins coalescing still applies) and
 * removes it from the outbox only once the broker has sequenced it.
 *
 * - Order: a match's changes are announced in version order. A batch that would skip versions the
 *   stream lacks (another instance committed them, or died before relaying them) is refused by the
 *   broker as a gap; the relay then relays the missing entries from the store first, whoever holds
 *   them. Changes the outbox cannot account for (made without an event, or sequenced into a Redis
 *   that lost them since) start a new epoch instead: every subscriber resyncs from a snapshot.
 * - Idempotent: the broker drops an event whose version the stream already reflects, so an entry
 *   relayed twice (its relay died between sequencing and marking it done) never gets a second seq.
 * - Nothing waits for a dead instance longer than the lease: every `sweepIntervalMs` the relay
 *   retries the matches it failed to relay (Redis down) and claims entries whose lease ran out.
 * - Reconciliation: a room about to show a match brings its stream up to the store's version first.
 *
 * The relay runs one operation per match at a time on this instance; across instances, the
 * broker's version check makes concurrent relays of one match safe.
 */
import { randomUUID } from 'node:crypto'
import { SerialByKey } from '../../lib/serial.js'
import { coalesceKey, type MatchEvent, type PendingEvent } from '../../schemas/events.js'
import type { OutboxEntry, Store } from '../store/store.js'
import type { WindowVersions } from './batcher.js'
import type { Broker, RelayBatch, StreamPosition } from './broker.js'

/** What the relay needs of the store. */
export type OutboxStore = Pick<Store, 'pendingEvents' | 'claimEvents' | 'markPublished'>

export interface RelayOptions {
  /** How long an entry is its committer's (and a claimed entry its claimer's) before anyone may claim it. */
  leaseMs: number
  /** How often failed matches are retried and expired entries claimed. */
  sweepIntervalMs: number
  /** Entries claimed per sweep. @default 500 */
  claimLimit?: number
}

export interface RelayLog {
  debug (obj: object, msg: string): void
  error (obj: object, msg: string): void
}

/** The most broker calls one settlement makes before it gives up (the sweeper tries again later). */
const MAX_STEPS = 8

/** Splits ascending versions into runs of consecutive ones. */
function runsOf (versions: number[]): number[][] {
  const runs: number[][] = []
  for (const v of versions) {
    const run = runs[runs.length - 1]
    if (run !== undefined && run[run.length - 1] === v - 1) run.push(v)
    else runs.push([v])
  }
  return runs
}

/** A batch of store entries, coalesced like a window (latest wins), accounting for `base`+1 … `last`. */
function batchOf (entries: OutboxEntry[], base: number, last: number): RelayBatch {
  const kept = entries.filter((e, i) => {
    const key = coalesceKey(e.event)
    return key === undefined || !entries.slice(i + 1).some((later) => coalesceKey(later.event) === key)
  })
  return { events: kept.map((e) => e.event), versions: kept.map((e) => e.version), base, last }
}

export class OutboxRelay {
  /** This instance, as the holder of claimed entries. */
  readonly owner = randomUUID()
  readonly #broker: Broker
  readonly #store: OutboxStore
  readonly #options: Required<RelayOptions>
  readonly #log: RelayLog
  /** Each match's relay operations on this instance, one at a time. */
  readonly #serial = new SerialByKey()
  /** Matches whose relay failed here (e.g. Redis down): retried every sweep. */
  readonly #dirty = new Set<string>()
  #timer: NodeJS.Timeout | undefined
  #sweeping: Promise<void> | undefined
  #closed = false

  constructor (broker: Broker, store: OutboxStore, options: RelayOptions, log: RelayLog) {
    this.#broker = broker
    this.#store = store
    this.#options = { claimLimit: 500, ...options }
    this.#log = log
  }

  /** Starts the sweeper. */
  start (): void {
    this.#timer ??= setInterval(() => { this.sweep().catch(() => {}) }, this.#options.sweepIntervalMs)
    this.#timer.unref()
  }

  /**
   * Relays a flushed window of the batcher: each run of consecutive versions it accounts for, in
   * order (events from outside the outbox ride with the first). Resolves with the events that got
   * a seq; rejects when the broker or the store failed (the match is then retried by the sweeper).
   */
  async flushWindow (matchId: string, events: PendingEvent[], versions: WindowVersions): Promise<MatchEvent[]> {
    const runs = runsOf(versions.all)
    try {
      return await this.#serial.run(matchId, async () => {
        const published: MatchEvent[] = []
        for (const [i, run] of runs.entries()) {
          const first = run[0]!
          const last = run[run.length - 1]!
          const mine = events.map((e, n) => [e, versions.each[n]] as const)
            .filter(([, v]) => v === undefined ? i === 0 : v >= first && v <= last)
          published.push(...await this.#settle(matchId, { events: mine.map(([e]) => e), versions: mine.map(([, v]) => v), base: first - 1, last }))
        }
        return published
      })
    } catch (err) {
      this.#dirty.add(matchId)
      throw err
    }
  }

  /**
   * Brings the match's stream up to the store's `version` (its position was `position`): the
   * outbox entries the stream lacks are relayed now, whoever holds them, or the match starts a new
   * epoch when the outbox cannot account for them. Resolves `true` when it changed the stream (the
   * caller reads the position again). Never rejects: a failure is logged, the caller goes on.
   */
  async reconcile (matchId: string, position: StreamPosition, version: number): Promise<boolean> {
    // Version 0: the match never changed, so there is nothing to announce.
    if (this.#closed || version === 0 || (position.version !== undefined && position.version >= version)) return false
    try {
      await this.#serial.run(matchId, () => this.#relayFromStore(matchId, position.version ?? 0, version))
      return true
    } catch (err) {
      this.#log.debug({ err, matchId }, 'matchcast: reconciling a match with the outbox failed; it is retried')
      this.#dirty.add(matchId)
      return false
    }
  }

  /** One sweep: the matches that failed here, then entries whose lease expired. Runs one at a time. */
  sweep (): Promise<void> {
    this.#sweeping ??= this.#sweep().finally(() => { this.#sweeping = undefined })
    return this.#sweeping
  }

  async #sweep (): Promise<void> {
    for (const matchId of [...this.#dirty]) {
      // Once the broker is found down, the other matches would fail the same way: next sweep.
      if (this.#closed || !await this.#retry(matchId, () => this.#relayFromStore(matchId, 0, 0))) return
    }
    if (this.#closed) return
    const claimed = await this.#store.claimEvents({ owner: this.owner, ms: this.#options.leaseMs }, this.#options.claimLimit).catch((err: unknown) => {
      this.#log.error({ err }, 'matchcast: claiming outbox entries failed')
      return []
    })
    const matches = new Map<string, OutboxEntry[]>()
    for (const entry of claimed) matches.set(entry.matchId, [...(matches.get(entry.matchId) ?? []), entry])
    for (const [matchId, entries] of matches) {
      if (this.#closed) return
      await this.#retry(matchId, async () => {
        for (const run of runsOf(entries.map((e) => e.version))) {
          await this.#settle(matchId, batchOf(entries.filter((e) => run.includes(e.version)), run[0]! - 1, run[run.length - 1]!))
        }
      })
    }
  }

  /** Runs a relay of the match; a failure marks it for the next sweep. Resolves whether it succeeded. */
  async #retry (matchId: string, work: () => Promise<unknown>): Promise<boolean> {
    try {
      await this.#serial.run(matchId, work)
      this.#dirty.delete(matchId)
      return true
    } catch (err) {
      this.#dirty.add(matchId)
      this.#log.debug({ err, matchId }, 'matchcast: relaying outbox entries failed; retried at the next sweep')
      return false
    }
  }

  /** Relays every entry of the match after `after`, then makes sure the stream reflects `version`. */
  async #relayFromStore (matchId: string, after: number, version: number): Promise<void> {
    const entries = await this.#store.pendingEvents(matchId, after)
    for (const run of runsOf(entries.map((e) => e.version))) {
      await this.#settle(matchId, batchOf(entries.filter((e) => run.includes(e.version)), run[0]! - 1, run[run.length - 1]!))
    }
    if (version > 0) await this.#settle(matchId, { events: [], versions: [], base: version, last: version })
  }

  /**
   * Gets `target` sequenced: on a gap, the entries the stream lacks are relayed first (from the
   * store), or, when the store has none to account for the gap, the match starts a new epoch. Then
   * the outbox is marked up to what the stream reflects.
   */
  async #settle (matchId: string, target: RelayBatch): Promise<MatchEvent[]> {
    const published: MatchEvent[] = []
    for (let step = 0; step < MAX_STEPS; step++) {
      const result = await this.#broker.relay(matchId, target)
      if (result.status === 'published') {
        published.push(...result.events)
        await this.#store.markPublished(matchId, target.last)
        return published
      }
      // A gap (a target never rotates, so it is never 'moved'): the stream reflects up to `at`.
      const at = (result as { version: number }).version
      const entries = await this.#store.pendingEvents(matchId, at)
      const [run] = runsOf(entries.map((e) => e.version))
      if (run !== undefined && run[0] === at + 1) {
        const fill = batchOf(entries.filter((e) => run.includes(e.version)), at, run[run.length - 1]!)
        const filled = await this.#broker.relay(matchId, fill)
        if (filled.status === 'published') {
          published.push(...filled.events)
          await this.#store.markPublished(matchId, fill.last)
        }
        continue
      }
      // Versions after the stream's that no entry accounts for: a new epoch, so every room resyncs.
      const last = Math.max(target.last, ...entries.map((e) => e.version))
      const rotation = await this.#broker.relay(matchId, { events: [], versions: [], base: at, last, rotateFrom: at })
      if (rotation.status === 'published') {
        this.#log.debug({ matchId, from: at, to: last }, 'matchcast: match changes without outbox events; the match starts a new epoch')
        await this.#store.markPublished(matchId, last)
        return published
      }
    }
    throw new Error(`outbox relay of match ${matchId} did not settle in ${MAX_STEPS} steps`)
  }

  /** Stops the sweeper and waits for every running operation; undone entries stay in the outbox. */
  async close (): Promise<void> {
    this.#closed = true
    clearInterval(this.#timer)
    await this.#sweeping
    await this.#serial.settled()
  }
}
