import { randomUUID } from 'node:crypto'
import type { Cluster, Redis } from 'ioredis'
import type { MatchEvent, PendingEvent } from '../../schemas/messages.js'
import { BrokerUnavailableError } from '../../lib/errors.js'
import { within } from '../../lib/timeout.js'
import { DEFAULT_COMMAND_TIMEOUT_MS, isCluster } from '../redis/index.js'
import { LocalSubscribers, type Broker, type EventHandler, type RelayBatch, type RelayResult, type ResyncHandler, type StreamPosition } from './broker.js'
import { SequenceGate, type SequencedBatch } from './gate.js'
import type { BrokerHealth, ChannelListener, ListenerHooks } from './redis-listener.js'
import { LostMatches, OutageLog, type BrokerLog } from './redis-outage.js'
import { MatchStreams } from './redis-stream.js'
import { parseBatch, type PublishReply } from './redis-wire.js'
import { createListener } from './shard-listener.js'

import type { RedisBrokerOptions } from './redis-options.js'

export type { RedisBrokerOptions } from './redis-options.js'

/**
 * A broker over Redis (one server or a cluster): several instances share sequences, history and rooms.
 *
 * - Sequencing, history and the publish happen in one Lua script (`redis-stream.ts`: keys, their
 *   lifetimes, the epoch fence); on a cluster every key of a match is in one slot, and its channel
 *   is sharded (`shard-listener.ts`: SSUBSCRIBE, one connection per shard).
 * - Pub/sub is at-most-once and arrives on another connection than a publish's reply. Each watched
 *   match therefore has a `SequenceGate` that orders what arrives from both, fills gaps from
 *   history and resyncs subscribers when it cannot. A node's own batches are delivered from the
 *   script's reply (no network hop); its own pub/sub copy is dropped by its `node` prefix.
 * - When Redis is unreachable, `publish` and `relay` reject with `MATCHCAST_ERR_BROKER_UNAVAILABLE`.
 *   Outbox events stay in the outbox and are relayed once Redis answers, in the same epoch. Other
 *   events (a host's `emit`) are gone: the match is remembered as lost, and its next sequencing
 *   (or Redis coming back) starts a new epoch, so every subscriber on every instance resyncs from
 *   a snapshot instead of missing the change.
 *   `position` then answers `UNAVAILABLE_EPOCH` (the match is marked lost the same way) and
 *   `since` answers `undefined`, so rooms keep admitting clients from the store's state.
 */
/** The epoch of a position read while Redis did not answer; never the epoch of a real sequence. */
export const UNAVAILABLE_EPOCH = 'unavailable'
export type { BrokerLog } from './redis-outage.js'
export type { BrokerHealth } from './redis-listener.js'

export class RedisBroker implements Broker {
  readonly nodeId = randomUUID()
  readonly #client: Redis | Cluster
  readonly #streams: MatchStreams
  readonly #listener: ChannelListener
  readonly #log: BrokerLog
  readonly #readTimeoutMs: number
  readonly #local = new LocalSubscribers()
  readonly #gates = new Map<string, SequenceGate>()
  /** Channel → match id, for the matches this node watches. */
  readonly #channels = new Map<string, string>()
  /** Matches whose events could not be sequenced: they get a new epoch as soon as Redis answers. */
  readonly #lost = new LostMatches(() => { this.#rotateLost().catch(this.#down) })
  readonly #outage: OutageLog
  /** Own messages start with this, so they are dropped without parsing. */
  readonly #self: string
  readonly #traffic = { received: 0, own: 0, unwatched: 0 }
  #closed = false

  constructor (options: RedisBrokerOptions) {
    const { client, subscriber, finishedTtlMs = 0, idleTtlMs = 0, now = Date.now } = options
    this.#client = client
    this.#streams = new MatchStreams({ ...options, finishedTtlMs, idleTtlMs, now, nodeId: this.nodeId, sharded: isCluster(client) })
    this.#log = options.log
    this.#outage = new OutageLog(options.log)
    this.#readTimeoutMs = options.readTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS
    this.#self = `{"v":1,"node":"${this.nodeId}"`
    const hooks: ListenerHooks = { message: this.#onMessage, subscribed: this.#onSubscribed, lost: this.#onLost, error: this.#down }
    this.#listener = createListener(client, subscriber, hooks)
    this.#client.on('ready', this.#onReady)
    this.#client.on('close', this.#onConnectionLost)
  }

  /** The subscriber connections (one per cluster shard in use), channels waiting for one, pub/sub traffic. */
  health (): BrokerHealth {
    return { ...this.#listener.health(), messages: { ...this.#traffic } }
  }

  /** Resolves once the subscriber connection is up (on one server), or after `timeoutMs`. */
  async connected (timeoutMs: number): Promise<void> {
    await this.#listener.connected(timeoutMs)
  }

  /**
   * Runs the script for a batch and hands what it published to the match's gate. Fails with
   * `MATCHCAST_ERR_BROKER_UNAVAILABLE`; events outside the outbox are then lost (see above).
   */
  async #sequence (matchId: string, events: PendingEvent[], batch?: RelayBatch): Promise<PublishReply> {
    if (this.#closed) throw new Error('broker is closed')
    const rotate = batch?.rotateFrom !== undefined ? String(batch.rotateFrom ?? -1) : (this.#lost.has(matchId) ? '*' : '')
    let reply: PublishReply
    try {
      reply = await this.#streams.run(matchId, events, rotate, batch)
    } catch (err) {
      if (events.some((_e, i) => batch?.versions[i] === undefined)) this.#lost.add(matchId)
      this.#down(err)
      throw new BrokerUnavailableError(`events of match ${matchId} were not sequenced`, { cause: err })
    }
    this.#up()
    if (reply[4] !== '') {
      if (rotate !== '') this.#lost.delete(matchId)
      await this.#gates.get(matchId)?.offer(parseBatch(reply[4]))
    } else if (events.length > 0) {
      // Already sequenced, maybe by this node's own publish whose reply timed out: its pub/sub
      // copy was dropped as our own, so the gate may lag behind; it reads the gap from history.
      await this.#gates.get(matchId)?.catchUp(reply[1], reply[2])
    }
    return reply
  }

  async publish (matchId: string, events: PendingEvent[]): Promise<MatchEvent[]> {
    const reply = await this.#sequence(matchId, events)
    return parseBatch(reply[4]).events
  }

  async relay (matchId: string, batch: RelayBatch): Promise<RelayResult> {
    const [status, , , version, message] = await this.#sequence(matchId, batch.events, batch)
    if (status === 'gap') return { status, version }
    if (status === 'moved') return { status, version: version < 0 ? undefined : version }
    return { status: 'published', events: message === '' ? [] : parseBatch(message).events, version }
  }

  subscribe (matchId: string, handler: EventHandler, onResync?: ResyncHandler): () => void {
    return this.#local.add(matchId, handler, onResync, () => this.#watch(matchId), () => this.#unwatch(matchId))
  }

  #watch (matchId: string): void {
    const gate = new SequenceGate({
      // The gate reads the raw way: a failed read makes it stale until Redis answers again.
      position: () => this.#position(matchId),
      since: (afterSeq, epoch) => this.#streams.since(matchId, afterSeq, epoch)
    }, {
      deliver: (events) => this.#local.deliver(matchId, events),
      resync: () => this.#local.resync(matchId),
      onError: this.#down
    })
    this.#gates.set(matchId, gate)
    const channel = this.#streams.channel(matchId)
    this.#channels.set(channel, matchId)
    // The starting position is read now, on the command connection, so it is at or before that of
    // any reader that subscribes first and reads after (the rooms' snapshots).
    gate.sync()
    this.#listener.add([channel])
  }

  #unwatch (matchId: string): void {
    this.#gates.get(matchId)!.close()
    this.#gates.delete(matchId)
    const channel = this.#streams.channel(matchId)
    this.#channels.delete(channel)
    this.#listener.remove(channel)
    this.#local.release(`subscription:${matchId}`)
  }

  /**
   * Channels are subscribed (again): their gates re-read the head, so whatever was published before
   * the subscription took effect comes from history (or they resync); then their held resync
   * notices are given together. Lost matches among them start their new epoch first.
   */
  readonly #onSubscribed = (channels: string[]): void => {
    const matchIds = channels.map((c) => this.#channels.get(c)).filter((id) => id !== undefined)
    this.#settle(matchIds, matchIds.map((id) => `subscription:${id}`)).catch(this.#down)
  }

  /** Subscriptions ended (a shard went away, a slot moved): resync notices of their matches wait for `#onSubscribed`. */
  readonly #onLost = (channels: string[]): void => {
    for (const channel of channels) {
      const matchId = this.#channels.get(channel)
      if (matchId !== undefined) this.#local.hold(`subscription:${matchId}`, [matchId])
    }
  }

  readonly #onMessage = (channel: string, message: string): void => {
    this.#traffic.received++
    if (message.startsWith(this.#self)) {
      this.#traffic.own++
      return
    }
    const matchId = this.#channels.get(channel)
    if (matchId === undefined) {
      this.#traffic.unwatched++
      return
    }
    let batch: SequencedBatch
    try {
      batch = parseBatch(message)
    } catch (err) {
      this.#log.warn({ err, channel }, 'matchcast: ignored a malformed broker message')
      return
    }
    this.#gates.get(matchId)!.push(batch)
  }

  /**
   * The command connection dropped: the outage is logged once, and resync notices wait for the
   * recovery, so a room that watches many matches gets them together.
   */
  readonly #onConnectionLost = (): void => {
    this.#down(new Error('connection to Redis lost'))
    this.#local.hold('client')
  }

  /** The command connection answers (at start, or after an outage): every watched match recovers. */
  readonly #onReady = (): void => {
    this.#settle([...this.#gates.keys()], ['client']).catch(this.#down)
  }

  /**
   * Starts a new epoch for every lost match, and syncs the gates of `matchIds`: what was published
   * meanwhile comes from history, or the gate resyncs. Once they have settled, the holds of
   * `reasons` end, so their held resync notices are given together. The outage is over once no
   * match is left without its new epoch and every gate could read.
   */
  async #settle (matchIds: string[], reasons: string[]): Promise<void> {
    await this.#rotateLost().catch(this.#down)
    const gates = matchIds.map((id) => this.#gates.get(id)).filter((gate) => gate !== undefined)
    for (const gate of gates) gate.sync()
    await Promise.all(gates.map((gate) => gate.whenIdle()))
    for (const reason of reasons) this.#local.release(reason)
    if (this.#lost.size === 0 && !gates.some((gate) => gate.stale)) this.#up()
  }

  /** Starts a new epoch for every match whose events were lost, announcing it to every instance. */
  async #rotateLost (): Promise<void> {
    try {
      for (const matchId of this.#lost.ids()) {
        const reply = await this.#streams.run(matchId, [], '*')
        this.#lost.delete(matchId)
        this.#up()
        await this.#gates.get(matchId)?.offer(parseBatch(reply[4]))
      }
    } finally {
      this.#lost.schedule()
    }
  }

  readonly #down = (err: unknown): void => this.#outage.down(err)
  readonly #up = (): void => this.#outage.up()

  /**
   * While Redis does not answer, the position is unknown: rooms still admit clients, with
   * `UNAVAILABLE_EPOCH` and seq 0, and the match is remembered as lost, so Redis coming back
   * starts a new epoch and those clients get a resync snapshot with the real sequence.
   */
  async position (matchId: string): Promise<StreamPosition> {
    const gate = this.#gates.get(matchId)
    try {
      // A watched match: read after its gate's starting point, never before it (the wait for that
      // counts against the same bound: the gate's own read may be what Redis does not answer).
      return await this.#bounded((async () => {
        await gate?.started()
        return await this.#position(matchId)
      })())
    } catch (err) {
      this.#lost.add(matchId)
      this.#down(err)
      return { epoch: UNAVAILABLE_EPOCH, seq: 0 }
    }
  }

  /** A read that does not answer within `readTimeoutMs` counts as Redis being unreachable. */
  #bounded<T> (read: Promise<T>): Promise<T> {
    return within(this.#readTimeoutMs, read, () => new Error(`Redis did not answer within ${this.#readTimeoutMs} ms`))
  }

  async #position (matchId: string): Promise<StreamPosition> {
    const [, epoch, seq, version, message] = await this.#streams.run(matchId, [], '')
    // The read moved the stream to a new epoch (another primary wrote it): the announcement went to
    // every other instance; this one's gate learns it from the answer.
    if (message !== '') this.#gates.get(matchId)?.push(parseBatch(message))
    return version < 0 ? { epoch, seq } : { epoch, seq, version }
  }

  async since (matchId: string, afterSeq: number, epoch: string): Promise<MatchEvent[] | undefined> {
    try {
      return await this.#bounded(this.#streams.since(matchId, afterSeq, epoch))
    } catch (err) {
      // History cannot be read: the client cannot resume, it resyncs from a snapshot instead.
      this.#down(err)
      return undefined
    }
  }

  async close (): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    for (const gate of this.#gates.values()) gate.close()
    this.#gates.clear()
    this.#channels.clear()
    this.#local.clear()
    this.#lost.close()
    this.#outage.close()
    this.#client.off('ready', this.#onReady)
    this.#client.off('close', this.#onConnectionLost)
    await this.#listener.close()
  }
}
