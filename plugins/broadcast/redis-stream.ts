/**
 * A match's keys in Redis, and the three things done with them: sequence a batch (the publish
 * script, `lua/publish.lua`), read the position, read history. Every key of a match carries its id
 * as a hash tag — `${prefix}:match:{matchId}` (stream), `…:history`, `…:events` (channel) — so on
 * a cluster they share one slot, and every call runs on the primary that owns it.
 */
import { randomUUID } from 'node:crypto'
import type { Cluster, Redis } from 'ioredis'
import { hashTag } from '../../lib/key-slot.js'
import { TERMINAL_EVENTS } from '../../schemas/events.js'
import type { MatchEvent, PendingEvent } from '../../schemas/messages.js'
import type { HistoryOptions, RelayBatch } from './broker.js'
import { definePublish, eventArgs, readHistory, type PublishCommand, type PublishReply } from './redis-wire.js'

/** How long a match's keys (sequence, epoch, history) outlive its last event. */
export interface KeyLifetimes {
  /** After a terminal event (`match_completed`, `match_cancelled`); 0 = never expire. */
  finishedTtlMs: number
  /** After any other event (or the first read of a new match); 0 = never expire. */
  idleTtlMs: number
}

export interface MatchStreamsOptions extends HistoryOptions, KeyLifetimes {
  client: Redis | Cluster
  prefix: string
  /** Written into each batch message, so the node can drop its own. */
  nodeId: string
  /** A cluster's sharded channels (SPUBLISH) rather than plain PUBLISH. */
  sharded: boolean
  now: () => number
}

export class MatchStreams {
  readonly #client: (Redis | Cluster) & PublishCommand
  readonly #options: MatchStreamsOptions

  constructor (options: MatchStreamsOptions) {
    definePublish(options.client)
    this.#client = options.client
    this.#options = options
  }

  /** The match's stream key; its history and channel add a suffix. */
  #stream (matchId: string): string { return `${this.#options.prefix}:match:${hashTag(matchId)}` }

  /** The channel the match's batches are published on. */
  channel (matchId: string): string { return `${this.#stream(matchId)}:events` }

  /**
   * Sequences `events` (none: only reads the position, or announces a new epoch when rotating).
   * `rotate`: '' no; '*' yes (events of the match were lost); a version: yes, while the stream
   * still reflects that one. An outbox `batch` gives its base, last and per-event versions, so a
   * version the stream already reflects is never sequenced twice (see lua/publish.lua). A batch
   * with a terminal event gives the match's keys the finished lifetime.
   */
  async run (matchId: string, events: PendingEvent[], rotate: string, batch?: Pick<RelayBatch, 'base' | 'last' | 'versions'>): Promise<PublishReply> {
    const { historySize, historyTtlMs, finishedTtlMs, idleTtlMs, nodeId, sharded, now } = this.#options
    const ts = new Date(now()).toISOString()
    const finished = events.some((e) => TERMINAL_EVENTS.has(e.type))
    // A finished match's history goes with its stream, if that is sooner than the history's own age.
    const historyAge = finished && finishedTtlMs > 0 ? Math.min(historyTtlMs, finishedTtlMs) : historyTtlMs
    const stream = this.#stream(matchId)
    return this.#client.matchcastPublish(stream, `${stream}:history`, `${stream}:events`, randomUUID(), rotate,
      historySize, historyAge, nodeId, batch === undefined ? '' : String(batch.base), batch === undefined ? '' : String(batch.last),
      sharded ? 'SPUBLISH' : 'PUBLISH', finished ? finishedTtlMs : idleTtlMs, ...eventArgs(matchId, ts, events, batch?.versions))
  }

  /** Events after `afterSeq` of `epoch` if history holds every one of them, young enough; else `undefined`. */
  async since (matchId: string, afterSeq: number, epoch: string): Promise<MatchEvent[] | undefined> {
    return readHistory(this.#client, this.#stream(matchId), afterSeq, epoch, this.#options.now() - this.#options.historyTtlMs)
  }
}
