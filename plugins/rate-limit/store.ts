/**
 * The limiter store contract: where connection slots and message buckets are counted.
 *
 * - Keys are per user; users never share a slot or a bucket.
 * - `acquire` is atomic: of concurrent acquires for the last slot, exactly one succeeds.
 * - `release` is idempotent; releasing an unknown connection is a no-op.
 * - A shared store (Redis) counts across instances; a memory store counts this instance only.
 */
import type { TakeResult } from './token-bucket.js'

export interface LimiterStore {
  /** Claims a connection slot for `userId` under `connectionId`; false when `max` are taken. */
  acquire (userId: string, connectionId: string, max: number): Promise<boolean>
  release (userId: string, connectionId: string): Promise<void>
  /** Takes one message token from the user's bucket. */
  take (userId: string, ratePerSecond: number, burst: number): Promise<Omit<TakeResult, 'state'>>
  close (): Promise<void>
}
