import { LimiterTimeoutError } from '../../lib/errors.js'
import { within } from '../../lib/timeout.js'
import type { LimiterMode, HitResult, LimiterStore } from './store.js'
import type { TakeResult } from './token-bucket.js'

/** A shared store that can be probed for recovery (`RedisLimiterStore`). */
export interface ProbedStore extends LimiterStore {
  /** Resolves when the backend answers. */
  ping (): Promise<void>
}

export interface FallbackOptions {
  /** How long one call waits on the shared store before this instance counts in memory instead. */
  timeoutMs: number
  /** While in memory mode, the shared store is pinged this often; its first answer switches back. */
  probeIntervalMs: number
  log: { warn (obj: object, msg: string): void, info (msg: string): void }
}

/**
 * The shared store (Redis) while it answers, this instance's memory while it does not.
 *
 * - A call that fails or exceeds `timeoutMs` is answered from memory, and the store switches to
 *   `memory` mode (one warning). In memory mode calls never touch the shared store, so no message
 *   waits on a dead Redis longer than `timeoutMs`, and only the calls in flight at the switch wait.
 * - Memory mirrors what this instance does in `redis` mode (its slots, its messages and hits), so
 *   per-instance limits continue from where they were when it switches.
 * - In memory mode a probe pings the shared store every `probeIntervalMs`; the first answer
 *   switches back (one info line), and the slots admitted in memory are adopted by the shared
 *   store, so they count across instances again.
 * - A shared store that answers messages from a lease (`RedisLimiterStore` with `leaseSize`)
 *   touches Redis for few of them, so an outage is noticed by the first call that needs Redis (the
 *   lease running out, an admission, an upgrade), not by the first message after it: until then
 *   messages spend tokens leased before it, which the bound across instances already counts.
 * - Never rejects.
 */
export class FallbackLimiterStore implements LimiterStore {
  readonly #shared: ProbedStore
  readonly #memory: LimiterStore
  readonly #options: FallbackOptions
  #mode: LimiterMode = 'redis'
  #probe: NodeJS.Timeout | undefined
  #probing = false
  #closed = false
  /** Slots this instance holds, and whether the shared store counts each. */
  readonly #held = new Map<string, { userId: string, shared: boolean }>()

  constructor (shared: ProbedStore, memory: LimiterStore, options: FallbackOptions) {
    this.#shared = shared
    this.#memory = memory
    this.#options = options
  }

  get mode (): LimiterMode {
    return this.#mode
  }

  /** A shared-store call, or a `LimiterTimeoutError` after `timeoutMs`. */
  #within<T> (pending: Promise<T>): Promise<T> {
    return within(this.#options.timeoutMs, pending, () => new LimiterTimeoutError(this.#options.timeoutMs))
  }

  async acquire (userId: string, connectionId: string, max: number): Promise<boolean> {
    if (this.#mode === 'redis') {
      const pending = this.#shared.acquire(userId, connectionId, max)
      try {
        const acquired = await this.#within(pending)
        if (acquired) {
          this.#held.set(connectionId, { userId, shared: true })
          await this.#memory.adopt(userId, connectionId)
        }
        return acquired
      } catch (err) {
        // A late success would hold a slot (and heartbeat it) for a connection judged in memory.
        pending.then(async (late) => { if (late) await this.#shared.release(userId, connectionId) }).catch(() => {})
        this.#degrade(err)
      }
    }
    const acquired = await this.#memory.acquire(userId, connectionId, max)
    if (acquired) this.#held.set(connectionId, { userId, shared: false })
    return acquired
  }

  async adopt (userId: string, connectionId: string): Promise<void> {
    this.#held.set(connectionId, { userId, shared: false })
    await this.#memory.adopt(userId, connectionId)
    if (this.#mode === 'redis') await this.#adoptShared(connectionId, userId)
  }

  async release (userId: string, connectionId: string): Promise<void> {
    const held = this.#held.get(connectionId)
    this.#held.delete(connectionId)
    await this.#memory.release(userId, connectionId)
    if (held?.shared === true) await this.#releaseShared(userId, connectionId)
  }

  async take (userId: string, ratePerSecond: number, burst: number): Promise<Omit<TakeResult, 'state'>> {
    const local = await this.#memory.take(userId, ratePerSecond, burst)
    return this.#mode === 'redis' ? this.#orLocal(() => this.#shared.take(userId, ratePerSecond, burst), local) : local
  }

  async hit (key: string, windowMs: number): Promise<HitResult> {
    const local = await this.#memory.hit(key, windowMs)
    return this.#mode === 'redis' ? this.#orLocal(() => this.#shared.hit(key, windowMs), local) : local
  }

  async close (): Promise<void> {
    this.#closed = true
    clearInterval(this.#probe)
    this.#held.clear()
    await Promise.all([this.#shared.close(), this.#memory.close()])
  }

  /** The shared store's answer, or `local` (already counted in memory) when it fails. */
  async #orLocal<T> (call: () => Promise<T>, local: T): Promise<T> {
    try {
      return await this.#within(call())
    } catch (err) {
      this.#degrade(err)
      return local
    }
  }

  async #adoptShared (connectionId: string, userId: string): Promise<void> {
    const pending = this.#shared.adopt(userId, connectionId)
    try {
      await this.#within(pending)
    } catch (err) {
      // Whatever its late outcome, the shared store must not keep (and heartbeat) this slot:
      // the connection counts in memory, and is adopted again at the next recovery.
      pending.catch(() => {}).then(() => this.#shared.release(userId, connectionId)).catch(() => {})
      this.#degrade(err)
      return
    }
    const held = this.#held.get(connectionId)
    // Closed while being adopted: its release did not reach the shared store, so do it now.
    if (held === undefined) await this.#releaseShared(userId, connectionId)
    else held.shared = true
  }

  async #releaseShared (userId: string, connectionId: string): Promise<void> {
    try {
      await this.#within(this.#shared.release(userId, connectionId))
    } catch (err) {
      // The slot expires with its missing heartbeat; the failure itself says Redis is down.
      this.#degrade(err)
    }
  }

  /** Switches to memory (once per outage) and starts probing the shared store. */
  #degrade (err: unknown): void {
    if (this.#mode === 'memory' || this.#closed) return
    this.#mode = 'memory'
    this.#options.log.warn({ err }, 'matchcast: rate limits fall back to per-instance memory (Redis is failing)')
    // #tryRecover never rejects: every failure in it is caught.
    this.#probe = setInterval(() => this.#tryRecover(), this.#options.probeIntervalMs)
    this.#probe.unref()
  }

  async #tryRecover (): Promise<void> {
    if (this.#probing) return
    this.#probing = true
    try {
      await this.#within(this.#shared.ping())
    } catch {
      return
    } finally {
      this.#probing = false
    }
    if (this.#closed) return
    clearInterval(this.#probe)
    this.#mode = 'redis'
    this.#options.log.info('matchcast: rate limits are shared through Redis again')
    // Connections admitted in memory count across instances again from here on.
    for (const [connectionId, held] of this.#held) {
      if (!held.shared) await this.#adoptShared(connectionId, held.userId)
    }
  }
}
