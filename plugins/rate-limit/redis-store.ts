import type { Cluster, Redis } from 'ioredis'
import { LimiterTimeoutError } from '../../lib/errors.js'
import { hashTag } from '../../lib/key-slot.js'
import { readLua } from '../../lib/lua.js'
import { within } from '../../lib/timeout.js'
import { Lease, leaseIdleMs, Leases, type Grant } from './lease.js'
import { DEFAULT_REDIS_TIMEOUT_MS } from './options.js'
import type { HitResult, LimiterStore } from './store.js'

const lua = (name: string) => readLua(import.meta.url, 'rate-limit', name)

/** The scripts, read once at load; each is defined once per client (EVALSHA, EVAL on NOSCRIPT). */
const SCRIPTS = {
  matchcastLimiterAcquire: lua('acquire'),
  matchcastLimiterRefresh: lua('refresh'),
  matchcastLimiterTake: lua('take'),
  matchcastLimiterHit: lua('hit')
} as const

/** The commands `defineCommand` adds to the client; replies are the fixed tuples of each script. */
interface ScriptCommands {
  matchcastLimiterAcquire (key: string, connectionId: string, max: number, ttlMs: number): Promise<[number, number]>
  matchcastLimiterRefresh (key: string, ttlMs: number, ...connectionIds: string[]): Promise<[number, number]>
  matchcastLimiterTake (key: string, ratePerSecond: number, burst: number, wanted: number): Promise<[number, number, number]>
  matchcastLimiterHit (key: string, windowMs: number): Promise<[number, number]>
}

type Client = Redis | Cluster

/** Defines the limiter's scripts on `client` unless a previous store already did. */
function defineScripts (client: Client): Client & ScriptCommands {
  for (const [name, source] of Object.entries(SCRIPTS)) {
    if (!(name in client)) client.defineCommand(name, { numberOfKeys: 1, lua: source })
  }
  return client as Client & ScriptCommands
}

export interface RedisLimiterStoreOptions {
  /** The command connection, to one server or a cluster (not closed by the store). */
  client: Client
  /** Builds a key under the app's prefix: `${prefix}:${area}:${id}`. */
  key (area: string, id: string): string
  /** How long a slot outlives the last heartbeat of its instance; heartbeats run every third of it. */
  connectionTtlMs: number
  /**
   * Message tokens leased at a time from a user's shared bucket and spent here without a round
   * trip (see `Lease`). 0 or 1: no lease, one script call per message. @default 1
   */
  leaseSize?: number
  /** How long a lease request may take; one that takes longer is abandoned (its tokens lost). @default 200 (`DEFAULT_REDIS_TIMEOUT_MS`) */
  leaseTimeoutMs?: number
  /** The clock of the leases (ms): when unused tokens are forgotten. @default Date.now */
  now?: () => number
}

/**
 * Limits shared by every instance through Redis. Each operation is one Lua script on one key,
 * so it is atomic and Redis Cluster-safe; the clock is Redis `TIME` (scripts run with effects
 * replication, Redis 5+), one clock for every instance. A user's keys carry the user id as a hash
 * tag (`${prefix}:limit-conns:{userId}`, `${prefix}:limit-bucket:{userId}`), so on a cluster every
 * key of one user lives in one slot; scripts run by SHA on whichever primary owns it, and ioredis
 * loads them there on NOSCRIPT (a new primary after a failover, a slot moved to another node).
 *
 * Message tokens: without a lease (`leaseSize` 0 or 1) each message is one script call on the
 * user's bucket. With a lease, each instance leases up to `leaseSize` tokens at a time from the
 * bucket (the same script, taking several) and spends them locally; the next share is asked for in
 * the background once a quarter of the lease is left, and only a message that finds the lease empty
 * waits for Redis. It is refused only when the lease is empty and Redis answers that the bucket is
 * too. Over any window of T seconds, N instances then accept at most
 * `burst + messagesPerSecond·T + N·leaseSize` messages of one user (without a lease:
 * `burst + messagesPerSecond·T`): what Redis hands out in the window, plus what each instance held
 * when it began. Leased tokens unused for the bucket's refill time (at least 1 s) are forgotten,
 * never given back; a lease request slower than `leaseTimeoutMs` is abandoned, its tokens lost.
 *
 * Connection slots are crash-safe: each is a sorted-set entry with an expiry that this instance's
 * heartbeat pushes forward (an unref'd timer); the slots of an instance that died without releasing
 * them expire after `connectionTtlMs` and are pruned by the next acquire.
 *
 * Methods reject when Redis does; wrap the store in `FallbackLimiterStore` to keep limiting then.
 */
export class RedisLimiterStore implements LimiterStore {
  readonly mode = 'redis' as const
  readonly #client: Client & ScriptCommands
  readonly #key: RedisLimiterStoreOptions['key']
  readonly #ttlMs: number
  /** The slots this instance holds, by user: what the heartbeat refreshes. */
  readonly #live = new Map<string, Set<string>>()
  readonly #heartbeat: NodeJS.Timeout
  readonly #leaseSize: number
  readonly #leaseTimeoutMs: number
  readonly #now: () => number
  readonly #leases = new Leases()
  /** The request in flight of each lease asking for tokens. */
  readonly #asking = new WeakMap<Lease, Promise<Grant>>()

  constructor (options: RedisLimiterStoreOptions) {
    this.#client = defineScripts(options.client)
    this.#key = options.key
    this.#ttlMs = options.connectionTtlMs
    this.#leaseSize = options.leaseSize ?? 1
    this.#leaseTimeoutMs = options.leaseTimeoutMs ?? DEFAULT_REDIS_TIMEOUT_MS
    this.#now = options.now ?? Date.now
    this.#heartbeat = setInterval(() => {
      // A failed beat is not reported: the fallback store learns of an outage from the next call
      // or probe, and a slot left unrefreshed expires just as a dead instance's would.
      this.refresh().catch(() => {})
    }, Math.max(1, Math.floor(this.#ttlMs / 3)))
    this.#heartbeat.unref()
  }

  async acquire (userId: string, connectionId: string, max: number): Promise<boolean> {
    const [acquired] = await this.#client.matchcastLimiterAcquire(this.#userKey('limit-conns', userId), connectionId, max, this.#ttlMs)
    if (acquired === 1) this.#track(userId, connectionId)
    return acquired === 1
  }

  async adopt (userId: string, connectionId: string): Promise<void> {
    this.#track(userId, connectionId)
    await this.#client.matchcastLimiterRefresh(this.#userKey('limit-conns', userId), this.#ttlMs, connectionId)
  }

  async release (userId: string, connectionId: string): Promise<void> {
    const ids = this.#live.get(userId)
    ids?.delete(connectionId)
    if (ids?.size === 0) this.#live.delete(userId)
    await this.#client.zrem(this.#userKey('limit-conns', userId), connectionId)
  }

  async take (userId: string, ratePerSecond: number, burst: number) {
    if (this.#leaseSize <= 1) {
      const [allowed, remaining, resetMs] = await this.#client.matchcastLimiterTake(this.#userKey('limit-bucket', userId), ratePerSecond, burst, 1)
      return { allowed: allowed === 1, remaining, resetMs }
    }
    const lease = this.#leases.get(userId, this.#now(), () => new Lease(this.#leaseSize, leaseIdleMs(ratePerSecond, burst)))
    for (;;) {
      const now = this.#now()
      if (lease.take(now)) {
        // In the background, sent once this message has been answered; a failure is not reported
        // here: the next message that needs Redis is.
        if (lease.due() > 0) this.#ask(userId, lease, ratePerSecond, burst, true).catch(() => {})
        return { allowed: true, ...lease.standing(now) }
      }
      // Nothing held: wait for the request in flight, or ask now.
      const answer = await (this.#asking.get(lease) ?? this.#ask(userId, lease, ratePerSecond, burst))
      if (answer.granted === 0) return { allowed: false, remaining: answer.remaining, resetMs: answer.resetMs }
      // Tokens arrived; the messages that waited with this one take them in turn, or ask again.
    }
  }

  async hit (key: string, windowMs: number): Promise<HitResult> {
    const [count, ttlMs] = await this.#client.matchcastLimiterHit(this.#key('limit-hits', key), windowMs)
    return { count, ttlMs }
  }

  /** The heartbeat: pushes forward the expiry of every slot this instance holds (re-adding lost ones). */
  async refresh (): Promise<void> {
    await Promise.all([...this.#live].map(([userId, ids]) =>
      this.#client.matchcastLimiterRefresh(this.#userKey('limit-conns', userId), this.#ttlMs, ...ids)))
  }

  /** Resolves when Redis answers a PING. */
  async ping (): Promise<void> {
    await this.#client.ping()
  }

  /** Stops the heartbeat. Slots still held are left to expire (their sockets are closing anyway); leases are forgotten. */
  async close (): Promise<void> {
    clearInterval(this.#heartbeat)
    this.#live.clear()
    this.#leases.clear()
  }

  /**
   * Asks the user's shared bucket for the tokens the lease is due, abandoning the request after
   * `leaseTimeoutMs`. `later`: sent on the next turn of the event loop, so the message that made it
   * due is answered without the cost of sending it.
   */
  #ask (userId: string, lease: Lease, ratePerSecond: number, burst: number, later = false): Promise<Grant> {
    const wanted = lease.ask()
    const send = () => this.#client.matchcastLimiterTake(this.#userKey('limit-bucket', userId), ratePerSecond, burst, wanted)
    const call = later ? new Promise<void>((resolve) => setImmediate(resolve)).then(send) : send()
    const asking = within(this.#leaseTimeoutMs, call, () => new LimiterTimeoutError(this.#leaseTimeoutMs)).then(([granted, remaining, resetMs]) => {
      this.#asking.delete(lease)
      const answer = { granted, remaining, resetMs }
      lease.grant(answer, this.#now())
      return answer
    }, (err: unknown) => {
      this.#asking.delete(lease)
      lease.fail()
      throw err
    })
    this.#asking.set(lease, asking)
    return asking
  }

  /** One of the user's keys: the user id is its hash tag, so all of them share one cluster slot. */
  #userKey (area: string, userId: string): string {
    return this.#key(area, hashTag(userId))
  }

  #track (userId: string, connectionId: string): void {
    const ids = this.#live.get(userId) ?? new Set<string>()
    ids.add(connectionId)
    this.#live.set(userId, ids)
  }
}
