/**
 * A lease on a user's shared message bucket, pure: how many tokens this instance holds, when to ask
 * the shared bucket (Redis) for more, and how to count them. No I/O and no timers; the clock is
 * passed in. `RedisLimiterStore` does the asking.
 *
 * - Frames spend held tokens here, one each, without a round trip.
 * - Held tokens plus the tokens asked for never exceed `size`: a request tops the lease up to
 *   `size`, and one request at most is in flight. So an instance never has more than `size` tokens
 *   it took from the shared bucket and has not spent yet.
 * - A request is due once a take leaves `lowWater` tokens or fewer (a quarter of `size`, rounded
 *   down), so traffic under the limit finds the next share arrived before the lease runs out.
 * - Tokens unused for `idleMs` are forgotten, never given back: by then the shared bucket has had
 *   the time to refill from empty, so giving them back would mostly be capped away.
 * - A request that fails (or is abandoned) adds nothing: tokens Redis may have taken for it are lost,
 *   which only ever limits more.
 */

/** The shared bucket's answer to a request for tokens. */
export interface Grant {
  /** Tokens leased to this instance, up to the number asked for; 0 when the shared bucket is empty. */
  granted: number
  /** Whole tokens left in the shared bucket after the lease. */
  remaining: number
  /** Milliseconds until the shared bucket has one whole token again (0 when it has one). */
  resetMs: number
}

/** Leased tokens are forgotten after at least this long unused (or the bucket's refill time, if longer). */
export const LEASE_MIN_IDLE_MS = 1000

/** The low-water mark of a lease of `size`: a request is due once a take leaves this many or fewer. */
export function lowWaterMark (size: number): number {
  return Math.floor(size / 4)
}

/**
 * How long leased tokens stay usable when unused: the time the shared bucket takes to refill from
 * empty (`burst / ratePerSecond`), and at least `LEASE_MIN_IDLE_MS`.
 */
export function leaseIdleMs (ratePerSecond: number, burst: number): number {
  return Math.max(LEASE_MIN_IDLE_MS, Math.ceil((burst * 1000) / ratePerSecond))
}

/** One user's lease on this instance. */
export class Lease {
  readonly size: number
  readonly lowWater: number
  readonly #idleMs: number
  /** Tokens held, not spent yet. */
  #tokens = 0
  /** Tokens asked for by the request in flight; 0 when none is. */
  #asked = 0
  /** The last take or grant (ms). */
  #touchedAt = -Infinity
  /** The shared bucket as the last answer told it: whole tokens, and when it has one again (ms). */
  #shared = { remaining: 0, resetAt: 0 }

  constructor (size: number, idleMs: number) {
    this.size = size
    this.lowWater = lowWaterMark(size)
    this.#idleMs = idleMs
  }

  /** Tokens held now (those unused for `idleMs` are gone). */
  held (now: number): number {
    if (now - this.#touchedAt >= this.#idleMs) this.#tokens = 0
    return this.#tokens
  }

  /** Spends one held token; false when none is held: the frame needs the shared bucket's answer. */
  take (now: number): boolean {
    if (this.held(now) === 0) return false
    this.#tokens--
    this.#touchedAt = now
    return true
  }

  /** Tokens to ask the shared bucket for now: 0 while a request is in flight or above the low-water mark. */
  due (): number {
    return this.#asked === 0 && this.#tokens <= this.lowWater ? this.size - this.#tokens : 0
  }

  /** Starts a request for the tokens due (the whole `size` when nothing is held); returns how many. */
  ask (): number {
    this.#asked = this.due()
    return this.#asked
  }

  /** The request in flight was answered: its tokens are held from `now`. */
  grant (answer: Grant, now: number): void {
    this.#tokens = Math.min(this.size, this.#tokens + Math.min(answer.granted, this.#asked))
    this.#asked = 0
    this.#touchedAt = now
    this.#shared = { remaining: answer.remaining, resetAt: now + answer.resetMs }
  }

  /** The request in flight failed or was abandoned: nothing is added. */
  fail (): void {
    this.#asked = 0
  }

  /**
   * What an allowed take reports: whole tokens left (held here plus the shared bucket's, as last
   * answered) and the ms until one is (0 while one is).
   */
  standing (now: number): { remaining: number, resetMs: number } {
    const remaining = this.held(now) + this.#shared.remaining
    return { remaining, resetMs: remaining > 0 ? 0 : Math.max(0, this.#shared.resetAt - now) }
  }

  /** Nothing held and nothing asked for: dropping the lease loses nothing. */
  idle (now: number): boolean {
    return this.held(now) === 0 && this.#asked === 0
  }
}

/** Leases kept before idle ones are swept (one per user who sent a frame through this instance). */
export const SWEEP_LEASES_ABOVE = 10_000

/** This instance's leases, by user; idle ones are swept once many are kept, so idle users cost nothing. */
export class Leases {
  readonly #byUser = new Map<string, Lease>()

  get size (): number {
    return this.#byUser.size
  }

  /** The user's lease, made by `create` when there is none. */
  get (userId: string, now: number, create: () => Lease): Lease {
    let lease = this.#byUser.get(userId)
    if (lease === undefined) {
      if (this.#byUser.size >= SWEEP_LEASES_ABOVE) this.#sweep(now)
      lease = create()
      this.#byUser.set(userId, lease)
    }
    return lease
  }

  clear (): void {
    this.#byUser.clear()
  }

  #sweep (now: number): void {
    for (const [userId, lease] of this.#byUser) {
      if (lease.idle(now)) this.#byUser.delete(userId)
    }
  }
}
