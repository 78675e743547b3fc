/**
 * Exactly-once commands: a command's `id` is its idempotency key. The reply of
 * `(user, match, id, content)` is remembered for `ttlMs`; the same command with the same id is not
 * applied again but answered with the remembered reply, and one that arrives while the first is
 * still running waits for its reply. The same id with other content is a new command.
 *
 * This instance remembers in memory; with Redis, every instance shares what it remembers through
 * `SharedCommandIds`, so a retry that reaches another instance is answered the same.
 */
import { CommandError } from '../../lib/errors.js'
import type { MatchCommand } from '../../schemas/commands.js'
import type { ErrorDetail, WsErrorCode } from '../../schemas/frames.js'
import { fingerprint } from '../store/idempotency.js'

export const DEFAULT_COMMAND_ID_TTL_MS = 5 * 60_000

/** A command's reply, as remembered: an `ack`, or the error frame's fields. */
export type Outcome = { ok: true } | { ok: false, code: WsErrorCode, message: string, details?: ErrorDetail[] }

/**
 * The replies every instance shares (Redis). `key` names `(user, match, id, content)`.
 */
export interface SharedCommandIds {
  /**
   * Claims `key` for this instance: `claimed` when no instance has run it (the caller runs it and
   * then calls `finish` or `release`), else the remembered outcome, waiting while another instance
   * still runs it. Rejects when the backend fails.
   */
  claim (key: string, matchId: string): Promise<'claimed' | Outcome>
  /** Remembers the outcome of a claimed key for `ttlMs`. */
  finish (key: string, matchId: string, outcome: Outcome): Promise<void>
  /** Forgets a claimed key whose command failed without a reply worth keeping (`internal`). */
  release (key: string, matchId: string): Promise<void>
}

interface Remembered {
  outcome: Promise<Outcome>
  /** When it is forgotten; `Infinity` while the command runs. */
  expires: number
}

export interface CommandIdsOptions {
  ttlMs: number
  /** The clock (tests use a fake one). @default Date.now */
  now?: () => number
  shared?: {
    ids: SharedCommandIds
    /** Hears of each failure of the shared backend (the command then runs with this instance's memory only). */
    onError: (err: unknown) => void
  }
}

const OK: Outcome = { ok: true }
/** The longest time between two sweeps of expired replies. */
const SWEEP_MAX_INTERVAL_MS = 1000

/** What a remembered outcome means to the frame loop: return (ack) or throw the error it replies. */
function replay (outcome: Outcome): void {
  if (!outcome.ok) throw new CommandError(outcome.code, outcome.message, outcome.details)
}

/** Runs `work`; its `CommandError` becomes the outcome, any other error (`internal`) propagates and is not remembered. */
async function outcomeOf (work: () => Promise<unknown>): Promise<Outcome> {
  try {
    await work()
    return OK
  } catch (err) {
    if (!(err instanceof CommandError) || err.code === 'internal') throw err
    return { ok: false, code: err.code, message: err.message, ...(err.details && { details: err.details }) }
  }
}

export class CommandIds {
  readonly #ttlMs: number
  readonly #now: () => number
  readonly #shared: CommandIdsOptions['shared']
  /** Key → outcome, oldest first: every finished entry lives `ttlMs`, so expiry follows insertion order. */
  readonly #local = new Map<string, Remembered>()
  #nextSweep = 0

  constructor (options: CommandIdsOptions) {
    this.#ttlMs = options.ttlMs
    this.#now = options.now ?? Date.now
    this.#shared = options.shared
  }

  /** Commands remembered by this instance (running ones included). */
  get size (): number { return this.#local.size }

  /**
   * Runs `work` for `command` once per `(user, match, id, content)`: resolves (ack) or throws the
   * `CommandError` of its reply, now or as remembered. A command without an `id`, or with
   * `ttlMs` 0, simply runs.
   */
  async run (matchId: string, userId: string, command: MatchCommand, work: () => Promise<unknown>): Promise<void> {
    if (command.id === undefined || this.#ttlMs === 0) {
      await work()
      return
    }
    const { id, ...content } = command
    const key = fingerprint(matchId, userId, id, content)
    const now = this.#now()
    this.#sweep(now)
    const remembered = this.#local.get(key)
    if (remembered !== undefined && remembered.expires > now) return replay(await remembered.outcome)
    const outcome = this.#shared === undefined ? outcomeOf(work) : this.#runShared(key, matchId, work)
    this.#local.set(key, { outcome, expires: Infinity })
    let value: Outcome
    try {
      value = await outcome
    } finally {
      this.#local.delete(key)
    }
    // Its lifetime starts with the reply, at the end of the map.
    this.#local.set(key, { outcome, expires: this.#now() + this.#ttlMs })
    replay(value)
  }

  async #runShared (key: string, matchId: string, work: () => Promise<unknown>): Promise<Outcome> {
    const { ids: shared, onError } = this.#shared!
    let claim: 'claimed' | Outcome
    try {
      claim = await shared.claim(key, matchId)
    } catch (err) {
      onError(err)
      if (err instanceof CommandError) throw err
      // Redis is down: run it, remembered by this instance only, rather than refuse every command.
      return outcomeOf(work)
    }
    if (claim !== 'claimed') return claim
    let outcome: Outcome
    try {
      outcome = await outcomeOf(work)
    } catch (err) {
      await shared.release(key, matchId).catch(onError)
      throw err
    }
    await shared.finish(key, matchId, outcome).catch(onError)
    return outcome
  }

  /**
   * Forgets expired replies, at most once per `min(ttlMs, 1 s)`: a sweep walks the map from its
   * oldest entry, past the slots its deletions left, so sweeping on every command would cost as
   * much as the map is long. Until swept, an expired reply is not replayed (`run` checks).
   */
  #sweep (now: number): void {
    if (now < this.#nextSweep) return
    this.#nextSweep = now + Math.min(this.#ttlMs, SWEEP_MAX_INTERVAL_MS)
    for (const [key, entry] of this.#local) {
      if (entry.expires > now) return
      this.#local.delete(key)
    }
  }
}
