/**
 * The batcher: collects each match's events for a window, coalesces updates that supersede each
 * other, and hands every window to `flush` in order. Pure: no Fastify, no I/O; timers are injected
 * so tests can drive it with a fake clock.
 *
 * - Latest wins: an event whose coalesce key is already pending replaces the pending one (which
 *   never reaches `flush`, so it never consumes a seq).
 * - An empty window flushes nothing.
 * - A terminal event flushes at once: what is pending first, then the terminal event.
 * - Flushes of one match never overlap: each waits for the previous one of that match. Matches
 *   are independent.
 * - Outbox versions ride along: each event may carry the match version it announces, and a window
 *   remembers every version added to it, so a flush accounts for the versions of replaced events too.
 */
import { TERMINAL_EVENTS, coalesceKey, type PendingEvent } from '../../schemas/events.js'

export interface TimerApi {
  setTimeout (fn: () => void, ms: number): unknown
  clearTimeout (handle: unknown): void
}

/** The outbox versions of a flushed window (present when any of its events carried one). */
export interface WindowVersions {
  /** Parallel to the flushed events: the version each announces (`undefined`: not from the outbox). */
  each: Array<number | undefined>
  /** Every version added to the window, ascending: replaced events' included. */
  all: number[]
}

export interface BatcherOptions {
  /**
   * Milliseconds a window stays open. 0 or less sends each event at once, except that events
   * arriving while the match's previous batch is still being published go out together next.
   */
  windowMs: number
  /** A window holding this many events flushes before its time. */
  maxBatch: number
  /** Receives each window's events; a rejection is reported to `onError` and does not stop later flushes. */
  flush (matchId: string, events: PendingEvent[], versions: WindowVersions | undefined): Promise<void>
  onError (err: unknown, matchId: string): void
  timers?: TimerApi
}

const realTimers: TimerApi = {
  setTimeout: (fn, ms) => {
    const handle = setTimeout(fn, ms)
    handle.unref()
    return handle
  },
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout)
}

interface Window {
  events: PendingEvent[]
  /** Parallel to `events`. */
  versions: Array<number | undefined>
  /** Every version added. */
  all: number[]
  timer: unknown
}

export class Batcher {
  readonly #options: BatcherOptions
  readonly #timers: TimerApi
  readonly #windows = new Map<string, Window>()
  /** The tail of each match's flush chain; removed when the chain settles. */
  readonly #chains = new Map<string, Promise<void>>()

  constructor (options: BatcherOptions) {
    this.#options = options
    this.#timers = options.timers ?? realTimers
  }

  /** Adds an event of `matchId` (announcing match `version`, for an outbox event) to its open window (opening one if needed). */
  add (matchId: string, event: PendingEvent, version?: number): void {
    let window = this.#windows.get(matchId)
    if (window === undefined) {
      window = { events: [], versions: [], all: [], timer: undefined }
      this.#windows.set(matchId, window)
    }
    const key = coalesceKey(event)
    if (key !== undefined) {
      const kept = window.events.map((e, i) => [e, window.versions[i]] as const).filter(([e]) => coalesceKey(e) !== key)
      window.events = kept.map(([e]) => e)
      window.versions = kept.map(([, v]) => v)
    }
    window.events.push(event)
    window.versions.push(version)
    if (version !== undefined) window.all.push(version)
    if (TERMINAL_EVENTS.has(event.type) || window.events.length >= this.#options.maxBatch) {
      this.#flush(matchId)
    } else if (this.#options.windowMs <= 0) {
      // No window: send at once, unless the match's previous batch is still being published;
      // then what arrives meanwhile goes out together as soon as it is (see #flush).
      if (!this.#chains.has(matchId)) this.#flush(matchId)
    } else if (window.timer === undefined) {
      window.timer = this.#timers.setTimeout(() => this.#flush(matchId), this.#options.windowMs)
    }
  }

  /** Closes the match's window now and chains its flush after the match's previous one. */
  #flush (matchId: string): void {
    const window = this.#windows.get(matchId)!
    this.#windows.delete(matchId)
    if (window.timer !== undefined) this.#timers.clearTimeout(window.timer)
    const { events } = window
    const versions = window.all.length === 0 ? undefined : { each: window.versions, all: window.all.sort((a, b) => a - b) }
    const previous = this.#chains.get(matchId)
    const flush = () => this.#options.flush(matchId, events, versions)
    // Nothing publishing for the match (the usual case): it is handed over now, not a turn later.
    const next = (previous === undefined ? flush() : previous.then(flush))
      .catch((err: unknown) => this.#options.onError(err, matchId))
      .finally(() => {
        if (this.#chains.get(matchId) !== next) return
        this.#chains.delete(matchId)
        // Without a window, events that arrived during this flush were held for the next one.
        if (this.#options.windowMs <= 0 && this.#windows.has(matchId)) this.#flush(matchId)
      })
    this.#chains.set(matchId, next)
  }

  /** Number of matches with an open window. */
  get pending (): number { return this.#windows.size }

  /** Flushes every open window now and resolves when every flush has settled. */
  async flushAll (): Promise<void> {
    for (const matchId of [...this.#windows.keys()]) this.#flush(matchId)
    await Promise.all([...this.#chains.values()])
  }
}
