/**
 * What the Redis broker keeps through an outage (of Redis, or of one cluster shard): the matches
 * whose events could not be sequenced, retried until each has its new epoch, and the outage logged
 * once going down and once coming back.
 */

export interface BrokerLog {
  info (obj: object, msg: string): void
  warn (obj: object, msg: string): void
}

/** How often the new epochs of lost matches are tried again while Redis (or their shard) fails. */
export const LOST_RETRY_MS = 1000

/** One warning when Redis stops answering, one info line when it answers again. */
export class OutageLog {
  readonly #log: BrokerLog
  #healthy = true
  #closed = false

  constructor (log: BrokerLog) {
    this.#log = log
  }

  readonly down = (err: unknown): void => {
    if (!this.#healthy || this.#closed) return
    this.#healthy = false
    this.#log.warn({ err }, 'matchcast: Redis unreachable; match events cannot be sequenced, rooms resync when it answers')
  }

  up (): void {
    if (this.#healthy) return
    this.#healthy = true
    this.#log.info({}, 'matchcast: Redis answers again; match events are sequenced')
  }

  close (): void { this.#closed = true }
}

/**
 * Matches whose events were lost (never sequenced): each must start a new epoch, so every room
 * resyncs rather than miss the change. While any is left, `retry` runs every `LOST_RETRY_MS` (on a
 * cluster the shard that failed may serve again long before anything else tells this instance);
 * with none, no timer.
 */
export class LostMatches {
  readonly #ids = new Set<string>()
  readonly #retry: () => void
  #timer: NodeJS.Timeout | undefined
  #closed = false

  constructor (retry: () => void) {
    this.#retry = retry
  }

  add (matchId: string): void {
    this.#ids.add(matchId)
    this.schedule()
  }

  has (matchId: string): boolean { return this.#ids.has(matchId) }
  delete (matchId: string): void { this.#ids.delete(matchId) }
  get size (): number { return this.#ids.size }
  /** A copy: the set changes while they are retried. */
  ids (): string[] { return [...this.#ids] }

  /** Arms the retry timer if any match is lost and none is armed. */
  schedule (): void {
    if (this.#ids.size === 0 || this.#timer !== undefined || this.#closed) return
    this.#timer = setTimeout(() => {
      this.#timer = undefined
      this.#retry()
    }, LOST_RETRY_MS)
    this.#timer.unref()
  }

  close (): void {
    this.#closed = true
    clearTimeout(this.#timer)
  }
}
