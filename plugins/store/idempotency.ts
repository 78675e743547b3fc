/**
 * Idempotent requests over the store's idempotency records: the first request with a key does the
 * work and its response is kept; the same key with the same request replays that response; with
 * another request it is a 422; while the first still runs, a 409. The first holds the key under a
 * lease it renews while it works (every third of the lease), so a key whose holder crashed is free
 * again once the lease runs out, not after the whole TTL.
 */
import { hash } from 'node:crypto'
import { IdempotencyInFlightError, IdempotencyMismatchError } from '../../lib/errors.js'
import { canPrune, type IdempotencyPruning, type Lease, type Store, type StoredResponse } from './store.js'

/** The shortest time between two prunings of a store's idempotency records. */
export const PRUNE_MIN_INTERVAL_MS = 60_000

/** A JSON value with object keys sorted, so key order does not make two request bodies differ. */
export function canonical (value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical)
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.keys(value).sort().map((k) => [k, canonical((value as Record<string, unknown>)[k])]))
  }
  return value
}

const INDEX_KEY = /^(?:0|[1-9]\d*)$/

/**
 * The keys of `value` in the order `canonical`'s copy has them: array-index keys first, ascending
 * (an object keeps those first whatever the insertion order; `Object.keys` lists them so already),
 * then the others sorted.
 */
function sortedKeys (value: object): string[] {
  const keys = Object.keys(value)
  if (keys.length < 2) return keys
  // Index keys come first: when the first key does not start with a digit, there is none.
  const head = keys[0]!.charCodeAt(0)
  if (head < 0x30 || head > 0x39) return keys.sort()
  let indexes = 0
  while (indexes < keys.length && INDEX_KEY.test(keys[indexes]!) && Number(keys[indexes]) < 2 ** 32 - 1) indexes++
  return indexes === 0 ? keys.sort() : [...keys.slice(0, indexes), ...keys.slice(indexes).sort()]
}

/**
 * `JSON.stringify(canonical(value))`, written directly into one string (no copy of the value, no
 * arrays of parts): the same text, so digests made either way are equal. It runs on every
 * command with an id, so it is written for speed.
 */
export function canonicalJson (value: unknown): string | undefined {
  if (value === null || typeof value !== 'object') return JSON.stringify(value)
  if (Array.isArray(value)) {
    let out = '['
    for (let i = 0; i < value.length; i++) out += `${i === 0 ? '' : ','}${canonicalJson(value[i]) ?? 'null'}`
    return `${out}]`
  }
  let out = '{'
  for (const key of sortedKeys(value)) {
    const item = canonicalJson((value as Record<string, unknown>)[key])
    if (item !== undefined) out += `${out.length === 1 ? '' : ','}${JSON.stringify(key)}:${item}`
  }
  return `${out}}`
}

/** What a key is bound to, as a digest: e.g. the method, the route, its parameters and the body. */
export function fingerprint (...parts: unknown[]): string {
  return hash('sha256', canonicalJson(parts)!, 'base64url')
}

export interface IdempotentCall {
  /** Whose key it is (keys are per user). */
  scope: string
  key: string
  fingerprint: string
  ttlMs: number
  /** Who runs the request, and how long the key stays theirs without a renewal. */
  lease: Lease
}

/**
 * Runs `work` once per key: its response is kept and replayed (`replayed: true`) for the same key
 * and fingerprint. A `work` that throws keeps nothing: the key is released for a retry, and the
 * error propagates. `onStoreError` hears of a lease renewal or a release that failed.
 */
export async function runIdempotent (store: Store, call: IdempotentCall, work: () => Promise<StoredResponse>,
  onStoreError: (err: unknown) => void): Promise<StoredResponse & { replayed?: true }> {
  const claim = await store.beginIdempotent(call.scope, call.key, call.fingerprint, call.ttlMs, call.lease)
  switch (claim.state) {
    case 'mismatch':
      throw new IdempotencyMismatchError('this Idempotency-Key was used with another request')
    case 'in_flight':
      throw new IdempotencyInFlightError('a request with this Idempotency-Key is still being processed; retry later')
    case 'done':
      return { ...claim.response, replayed: true }
  }
  const renewal = setInterval(() => {
    store.renewIdempotent(call.scope, call.key, call.lease).catch(onStoreError)
  }, Math.max(1, Math.floor(call.lease.ms / 3)))
  renewal.unref()
  let response: StoredResponse
  try {
    response = await work()
  } catch (err) {
    await store.abandonIdempotent(call.scope, call.key, call.lease.owner).catch(onStoreError)
    throw err
  } finally {
    clearInterval(renewal)
  }
  await store.finishIdempotent(call.scope, call.key, response)
  return response
}

/**
 * Prunes a store's expired idempotency records on a schedule that costs nothing when idle: only a
 * request that used a key arms the timer, for when that key expires; a pruning re-arms it for the
 * oldest record left (at most once per `min(ttlMs, 1 min)`), and not at all once none is left.
 * A store without `pruneIdempotent` is left alone.
 */
export class IdempotencyPruner {
  readonly #store: Store
  readonly #ttlMs: number
  readonly #minIntervalMs: number
  readonly #onError: (err: unknown) => void
  #timer: NodeJS.Timeout | undefined
  #closed = false

  constructor (store: Store, ttlMs: number, onError: (err: unknown) => void) {
    this.#store = store
    this.#ttlMs = ttlMs
    this.#minIntervalMs = Math.min(ttlMs, PRUNE_MIN_INTERVAL_MS)
    this.#onError = onError
  }

  /** A key was used: a pruning is due when it expires, unless one is already armed. */
  touch (): void {
    if (canPrune(this.#store)) this.#arm(this.#ttlMs + 1)
  }

  /** Whether a pruning is armed (nothing runs while idle). */
  get armed (): boolean { return this.#timer !== undefined }

  #arm (ms: number): void {
    if (this.#timer !== undefined || this.#closed) return
    this.#timer = setTimeout(() => { this.#prune().catch(this.#onError) }, ms)
    this.#timer.unref()
  }

  async #prune (): Promise<void> {
    const store = this.#store as Store & IdempotencyPruning
    try {
      const { nextExpiryMs } = await store.pruneIdempotent(this.#ttlMs)
      this.#timer = undefined
      if (nextExpiryMs !== undefined) this.#arm(Math.max(nextExpiryMs + 1, this.#minIntervalMs))
    } catch (err) {
      // The store failed: try again later rather than never.
      this.#timer = undefined
      this.#arm(this.#minIntervalMs)
      throw err
    }
  }

  close (): void {
    this.#closed = true
    clearTimeout(this.#timer)
    this.#timer = undefined
  }
}
