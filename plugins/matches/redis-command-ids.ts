/**
 * Command replies shared by every instance, in Redis: one string key per
 * `(user, match, id, content)` under `${prefix}:cmd:{matchId}:…` (the hash tag keeps a match's keys
 * in one slot). Its value is `pending` while an instance runs the command, then the reply's JSON.
 */
import type { Cluster, Redis } from 'ioredis'
import { hashTag } from '../../lib/key-slot.js'
import { CommandError } from '../../lib/errors.js'
import type { Outcome, SharedCommandIds } from './command-ids.js'

/** The longest a claim stays `pending`: an instance that died running a command frees its key after it. */
export const PENDING_TTL_MS = 10_000
/** How often a retry polls a key that another instance is still running. */
export const POLL_MS = 20

const PENDING = 'pending'

export class RedisCommandIds implements SharedCommandIds {
  readonly #client: Redis | Cluster
  readonly #prefix: string
  readonly #ttlMs: number

  constructor (options: { client: Redis | Cluster, prefix: string, ttlMs: number }) {
    this.#client = options.client
    this.#prefix = options.prefix
    this.#ttlMs = options.ttlMs
  }

  #key (key: string, matchId: string): string {
    return `${this.#prefix}:cmd:${hashTag(matchId)}:${key}`
  }

  async claim (key: string, matchId: string): Promise<'claimed' | Outcome> {
    const redisKey = this.#key(key, matchId)
    if (await this.#client.set(redisKey, PENDING, 'PX', PENDING_TTL_MS, 'NX') === 'OK') return 'claimed'
    try {
      for (;;) {
        const value = await this.#client.get(redisKey)
        if (value !== null && value !== PENDING) return JSON.parse(value) as Outcome
        // Still running on another instance (or just expired): look again shortly.
        await new Promise((resolve) => setTimeout(resolve, POLL_MS))
        if (await this.#client.set(redisKey, PENDING, 'PX', PENDING_TTL_MS, 'NX') === 'OK') return 'claimed'
      }
    } catch {
      // Another instance has it: running it here too could apply it twice, so nothing is applied.
      throw new CommandError('internal', 'the command is running on another instance and its reply cannot be read now')
    }
  }

  async finish (key: string, matchId: string, outcome: Outcome): Promise<void> {
    await this.#client.set(this.#key(key, matchId), JSON.stringify(outcome), 'PX', this.#ttlMs)
  }

  async release (key: string, matchId: string): Promise<void> {
    await this.#client.del(this.#key(key, matchId))
  }
}
