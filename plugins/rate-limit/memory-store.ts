import type { HitResult, LimiterStore } from './store.js'
import { take, type BucketState } from './token-bucket.js'

/** Hit windows kept before expired ones are swept (one per IP address seen in the window). */
export const SWEEP_WINDOWS_ABOVE = 10_000

interface Window {
  count: number
  endsAt: number
}

/** Limits counted in this process: single instance only (and the fallback while Redis fails). */
export class MemoryLimiterStore implements LimiterStore {
  readonly mode = 'memory' as const
  readonly #slots = new Map<string, Set<string>>()
  readonly #buckets = new Map<string, BucketState>()
  readonly #windows = new Map<string, Window>()
  readonly #now: () => number

  constructor (now: () => number = Date.now) {
    this.#now = now
  }

  async acquire (userId: string, connectionId: string, max: number): Promise<boolean> {
    const slots = this.#slots.get(userId) ?? new Set<string>()
    if (slots.has(connectionId)) return true
    if (slots.size >= max) return false
    slots.add(connectionId)
    this.#slots.set(userId, slots)
    return true
  }

  async adopt (userId: string, connectionId: string): Promise<void> {
    const slots = this.#slots.get(userId) ?? new Set<string>()
    slots.add(connectionId)
    this.#slots.set(userId, slots)
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

  async hit (key: string, windowMs: number): Promise<HitResult> {
    const now = this.#now()
    let window = this.#windows.get(key)
    if (window === undefined || window.endsAt <= now) {
      // Many distinct keys (addresses) come and go: drop ended windows before the map grows large.
      if (window === undefined && this.#windows.size >= SWEEP_WINDOWS_ABOVE) this.#sweep(now)
      window = { count: 0, endsAt: now + windowMs }
      this.#windows.set(key, window)
    }
    window.count++
    return { count: window.count, ttlMs: window.endsAt - now }
  }

  #sweep (now: number): void {
    for (const [key, window] of this.#windows) {
      if (window.endsAt <= now) this.#windows.delete(key)
    }
  }

  async close (): Promise<void> {
    this.#slots.clear()
    this.#buckets.clear()
    this.#windows.clear()
  }
}
