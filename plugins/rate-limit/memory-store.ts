import type { LimiterStore } from './store.js'
import { take, type BucketState } from './token-bucket.js'

/** Limits counted in this process: per instance only. */
export class MemoryLimiterStore implements LimiterStore {
  readonly #slots = new Map<string, Set<string>>()
  readonly #buckets = new Map<string, BucketState>()
  readonly #now: () => number

  constructor (now: () => number = Date.now) {
    this.#now = now
  }

  async acquire (userId: string, connectionId: string, max: number): Promise<boolean> {
    const slots = this.#slots.get(userId) ?? new Set<string>()
    if (slots.size >= max) return false
    slots.add(connectionId)
    this.#slots.set(userId, slots)
    return true
  }

  async release (userId: string, connectionId: string): Promise<void> {
    const slots = this.#slots.get(userId)
    if (slots === undefined) return
    slots.delete(connectionId)
    if (slots.size === 0) this.#slots.delete(userId)
  }

  async take (userId: string, ratePerSecond: number, burst: number) {
    const result = take(this.#buckets.get(userId), this.#now(), ratePerSecond, burst)
    this.#buckets.set(userId, result.state)
    return { allowed: result.allowed, remaining: result.remaining, resetMs: result.resetMs }
  }

  async close (): Promise<void> {
    this.#slots.clear()
    this.#buckets.clear()
  }
}
