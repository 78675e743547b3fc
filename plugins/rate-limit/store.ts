/**
 * The limiter store contract: where connection slots, message buckets and hit windows are counted.
 *
 * - Keys are per user (slots, buckets) or per opaque key (hit windows, e.g. `ip:<address>`); users
 *   never share a slot or a bucket.
 * - `acquire` is atomic: of concurrent acquires for the last slot, exactly one succeeds. Acquiring
 *   an id the user already holds succeeds again without taking a second slot.
 * - `release` is idempotent; releasing an unknown connection is a no-op.
 * - `adopt` records a slot without checking the limit: the connection is already open (it was
 *   admitted while another store counted), so it must count here from now on.
 * - A shared store (Redis) counts across instances; a memory store counts this instance only.
 * - `take` on a shared store is exact across instances, or, when the store leases shares of a
 *   user's bucket to spend locally (`RedisLimiterStore` with `leaseSize` above 1), exact within
 *   `leaseSize` tokens per instance: over any T seconds N instances allow at most
 *   `burst + ratePerSecond·T + N·leaseSize` messages of a user.
 * - Methods may reject when the backend fails (Redis); `FallbackLimiterStore` turns that into a
 *   switch to memory. `MemoryLimiterStore` never rejects.
 * - After `close()` nothing is scheduled any more (heartbeats stop); counts are not guaranteed.
 */
import type { TakeResult } from './token-bucket.js'

/** Where limits are counted: `redis` (shared by every instance) or `memory` (this instance). */
export type LimiterMode = 'redis' | 'memory'

/** One hit counted in a fixed window. */
export interface HitResult {
  /** Hits in the current window, this one included. */
  count: number
  /** Milliseconds until the window ends and the count starts from 0. */
  ttlMs: number
}

export interface LimiterStore {
  /** Where this store counts right now. */
  readonly mode: LimiterMode
  /** Claims a connection slot for `userId` under `connectionId`; false when `max` are taken. */
  acquire (userId: string, connectionId: string, max: number): Promise<boolean>
  release (userId: string, connectionId: string): Promise<void>
  /** Records a slot of an already open connection, even past the limit. */
  adopt (userId: string, connectionId: string): Promise<void>
  /**
   * Takes one message token from the user's bucket. With a lease, `remaining` counts the tokens
   * this instance holds plus the shared bucket's as last answered.
   */
  take (userId: string, ratePerSecond: number, burst: number): Promise<Omit<TakeResult, 'state'>>
  /** Counts one hit of `key` in a fixed window of `windowMs`. */
  hit (key: string, windowMs: number): Promise<HitResult>
  close (): Promise<void>
}
