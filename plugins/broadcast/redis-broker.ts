import { randomUUID } from 'node:crypto'
import type { Redis } from 'ioredis'
import type { MatchEvent, PendingEvent } from '../../schemas/messages.js'
import { BrokerUnavailableError } from '../../lib/errors.js'
import { within } from '../../lib/timeout.js'
import { DEFAULT_COMMAND_TIMEOUT_MS } from '../redis/index.js'
import { LocalSubscribers, type Broker, type EventHandler, type HistoryOptions, type RelayBatch, type RelayResult, type ResyncHandler, type StreamPosition } from './broker.js'
import { SequenceGate, type SequencedBatch } from './gate.js'
import { definePublish, eventArgs, parseBatch, readHistory, type PublishCommand, type PublishReply } from './redis-wire.js'
import type { BrokerLog, RedisBrokerOptions } from './redis-options.js'

export type { BrokerLog, RedisBrokerOptions } from './redis-options.js'

/**
 * A broker over Redis: several instances share sequences, history and rooms.
 *
 * - Sequencing, history and the PUBLISH happen in one Lua script (`lua/publish.lua`), so a seq is
 *   never assigned without being recorded and announced.
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

export class RedisBroker implements Broker {
  readonly nodeId = randomUUID()
  readonly #client: Redis & PublishCommand
  readonly #subscriber: Redis
  readonly #prefix: string
  readonly #options: HistoryOptions
  readonly #log: BrokerLog
  readonly #now: () => number
  readonly #readTimeoutMs: number
  readonly #local = new LocalSubscribers()
  readonly #gates = new Map<string, SequenceGate>()
  /** Channel → match id, for the matches this node watches. */
  readonly #channels = new Map<string, string>()
  /** Matches whose events could not be sequenced: they get a new epoch as soon as Redis answers. */
  readonly #lost = new Set<string>()
  /** Own messages start with this, so they are dropped without parsing. */
  readonly #self: string
  #healthy = true
  #closed = false

  constructor (options: RedisBrokerOptions) {
    this.#client = options.client as Redis & PublishCommand
    this.#subscriber = options.subscriber
    this.#prefix = options.prefix
    this.#options = { historySize: options.historySize, historyTtlMs: options.historyTtlMs }
    this.#log = options.log
    this.#now = options.now ?? Date.now
    this.#readTimeoutMs = options.readTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS
    this.#self = `{"v":1,"node":"${this.nodeId}"`
    definePublish(this.#client)
    this.#subscriber.on('message', this.#onMessage)
    this.#subscriber.on('ready', this.#onReady)
    this.#subscriber.on('close', this.#onConnectionLost)
    this.#subscriber.on('error', this.#down)
    this.#client.on('ready', this.#onReady)
    this.#client.on('close', this.#onConnectionLost)
  }

  #stream (matchId: string): string { return `${this.#prefix}:match:${matchId}` }

  async #run (matchId: string, rotate: string, base: string, last: string, args: string[]): Promise<PublishReply> {
    const stream = this.#stream(matchId)
    return this.#client.matchcastPublish(stream, `${stream}:history`, `${stream}:events`, randomUUID(), rotate,
      this.#options.historySize, this.#options.historyTtlMs, this.nodeId, base, last, ...args)
  }

  /**
   * Runs the script for a batch and hands what it published to the match's gate. Fails with
   * `MATCHCAST_ERR_BROKER_UNAVAILABLE`; events outside the outbox are then lost (see above).
   */
  async #sequence (matchId: string, events: PendingEvent[], batch?: RelayBatch): Promise<PublishReply> {
    if (this.#closed) throw new Error('broker is closed')
    const ts = new Date(this.#now()).toISOString()
    const lost = this.#lost.has(matchId)
    const rotate = batch?.rotateFrom !== undefined ? String(batch.rotateFrom ?? -1) : (lost ? '*' : '')
    let reply: PublishReply
    try {
      reply = await this.#run(matchId, rotate, batch === undefined ? '' : String(batch.base), batch === undefined ? '' : String(batch.last),
        eventArgs(matchId, ts, events, batch?.versions))
    } catch (err) {
      if (events.some((_e, i) => batch?.versions[i] === undefined)) this.#lost.add(matchId)
      this.#down(err)
      throw new BrokerUnavailableError(`events of match ${matchId} were not sequenced`, { cause: err })
    }
    this.#up()
    if (reply[4] !== '') {
      if (rotate !== '') this.#lost.delete(matchId)
      await this.#offer(matchId, parseBatch(reply[4]))
    } else if (events.length > 0) {
      // Already sequenced, maybe by this node's own publish whose reply timed out: its pub/sub
      // copy was dropped as our own, so the gate may lag behind; it reads the gap from history.
      await this.#catchUp(matchId, reply[1], reply[2])
    }
    return reply
  }

  async #catchUp (matchId: string, epoch: string, seq: number): Promise<void> {
    const gate = this.#gates.get(matchId)
    if (gate === undefined || (gate.position?.epoch === epoch && gate.position.seq >= seq)) return
    gate.sync()
    await gate.waitFor(epoch, seq)
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

  /** Hands a batch to the match's gate (if watched here) and waits until it has been delivered. */
  async #offer (matchId: string, batch: SequencedBatch): Promise<void> {
    const gate = this.#gates.get(matchId)
    if (gate === undefined) return
    gate.push(batch)
    await gate.waitFor(batch.epoch, batch.seq)
  }

  subscribe (matchId: string, handler: EventHandler, onResync?: ResyncHandler): () => void {
    return this.#local.add(matchId, handler, onResync, () => this.#watch(matchId), () => this.#unwatch(matchId))
  }

  #watch (matchId: string): void {
    const gate = new SequenceGate({
      // The gate reads the raw way: a failed read makes it stale until Redis answers again.
      position: () => this.#position(matchId),
      since: (afterSeq, epoch) => this.#since(matchId, afterSeq, epoch)
    }, {
      deliver: (events) => this.#local.deliver(matchId, events),
      resync: () => this.#local.resync(matchId),
      onError: this.#down
    })
    this.#gates.set(matchId, gate)
    this.#channels.set(`${this.#stream(matchId)}:events`, matchId)
    // The starting position is read now, on the command connection, so it is at or before that of
    // any reader that subscribes first and reads after (the rooms' snapshots).
    gate.sync()
    if (this.#subscriber.status === 'ready') this.#listen([matchId])
  }

  #unwatch (matchId: string): void {
    this.#gates.get(matchId)!.close()
    this.#gates.delete(matchId)
    const channel = `${this.#stream(matchId)}:events`
    this.#channels.delete(channel)
    if (this.#subscriber.status === 'ready') this.#subscriber.unsubscribe(channel).catch(this.#down)
  }

  /** Subscribes to the matches' channels, then syncs their gates: whatever was published before the subscription took effect comes from history. */
  #listen (matchIds: string[]): void {
    const channels = matchIds.map((id) => `${this.#stream(id)}:events`)
    this.#subscriber.subscribe(...channels).then(() => {
      for (const id of matchIds) this.#gates.get(id)?.sync()
    }, this.#down)
  }

  readonly #onMessage = (channel: string, message: string): void => {
    if (message.startsWith(this.#self)) return
    const matchId = this.#channels.get(channel)
    if (matchId === undefined) return
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
   * A connection to Redis dropped (the subscriber's tells every instance, publishing or not): the
   * outage is logged once, and resync notices wait for the recovery, so a room that watches many
   * matches gets them together.
   */
  readonly #onConnectionLost = (): void => {
    this.#down(new Error('connection to Redis lost'))
    this.#local.hold()
  }

  /** Both connections answer (at start, or after an outage): recover. */
  readonly #onReady = (): void => {
    if (this.#client.status === 'ready' && this.#subscriber.status === 'ready') this.#recover().catch(this.#down)
  }

  /**
   * Starts a new epoch for every lost match, resubscribes (ioredis does too, but only a confirmed
   * SUBSCRIBE followed by a sync closes the gap of the outage) and syncs every gate: what was
   * published meanwhile comes from history, or the gate resyncs. Once every gate has settled, the
   * held resync notices are given together. The outage is over once no match is left without its
   * new epoch and every gate could read.
   */
  async #recover (): Promise<void> {
    await this.#rotateLost().catch(this.#down)
    const channels = [...this.#channels.keys()]
    if (channels.length > 0) await this.#subscriber.subscribe(...channels).catch(this.#down)
    const gates = [...this.#gates.values()]
    for (const gate of gates) gate.sync()
    await Promise.all(gates.map((gate) => gate.whenIdle()))
    this.#local.release()
    if (this.#lost.size === 0 && !gates.some((gate) => gate.stale)) this.#up()
  }

  /** Starts a new epoch for every match whose events were lost, announcing it to every instance. */
  async #rotateLost (): Promise<void> {
    for (const matchId of [...this.#lost]) await this.#sequence(matchId, [])
  }

  readonly #down = (err: unknown): void => {
    if (!this.#healthy || this.#closed) return
    this.#healthy = false
    this.#log.warn({ err }, 'matchcast: Redis unreachable; match events cannot be sequenced, rooms resync when it answers')
  }

  #up (): void {
    if (this.#healthy) return
    this.#healthy = true
    this.#log.info({}, 'matchcast: Redis answers again; match events are sequenced')
  }

  /**
   * While Redis does not answer, the position is unknown: rooms still admit clients, with
   * `UNAVAILABLE_EPOCH` and seq 0, and the match is remembered as lost, so Redis coming back
   * starts a new epoch and those clients get a resync snapshot with the real sequence.
   */
  async position (matchId: string): Promise<StreamPosition> {
    try {
      return await this.#bounded(this.#position(matchId))
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
    const [, epoch, seq, version] = await this.#run(matchId, '', '', '', [])
    return version < 0 ? { epoch, seq } : { epoch, seq, version }
  }

  async since (matchId: string, afterSeq: number, epoch: string): Promise<MatchEvent[] | undefined> {
    try {
      return await this.#bounded(this.#since(matchId, afterSeq, epoch))
    } catch (err) {
      // History cannot be read: the client cannot resume, it resyncs from a snapshot instead.
      this.#down(err)
      return undefined
    }
  }

  #since (matchId: string, afterSeq: number, epoch: string): Promise<MatchEvent[] | undefined> {
    return readHistory(this.#client, this.#stream(matchId), afterSeq, epoch, this.#now() - this.#options.historyTtlMs)
  }

  async close (): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    for (const gate of this.#gates.values()) gate.close()
    this.#gates.clear()
    this.#channels.clear()
    this.#local.clear()
    this.#client.off('ready', this.#onReady)
    this.#client.off('close', this.#onConnectionLost)
    this.#subscriber.off('message', this.#onMessage)
    this.#subscriber.off('ready', this.#onReady)
    this.#subscriber.off('close', this.#onConnectionLost)
    // The error listener stays: a closing connection may still report its socket's end.
    await this.#subscriber.quit().catch(() => this.#subscriber.disconnect())
  }
}
