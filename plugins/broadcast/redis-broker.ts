import { randomUUID } from 'node:crypto'
import { Cluster, type Redis } from 'ioredis'
import { TERMINAL_EVENTS } from '../../schemas/events.js'
import type { MatchEvent, PendingEvent } from '../../schemas/messages.js'
import { BrokerUnavailableError } from '../../lib/errors.js'
import { hashTag } from '../../lib/key-slot.js'
import type { NodeAddress } from '../redis/index.js'
import { LocalSubscribers, type Broker, type EventHandler, type HistoryOptions, type ResyncHandler, type StreamPosition } from './broker.js'
import { SequenceGate, type SequencedBatch } from './gate.js'
import { PlainListener, type ChannelListener, type ListenerHooks, type SubscriberHealth } from './redis-listener.js'
import { definePublish, parseBatch, type PublishCommand, type PublishReply } from './redis-wire.js'
import { ShardListener } from './shard-listener.js'

export interface BrokerLog {
  info (obj: object, msg: string): void
  warn (obj: object, msg: string): void
}

/** How long a match's keys (sequence, epoch, history) outlive its last event. */
export interface KeyLifetimes {
  /** After a terminal event (`match_completed`, `match_cancelled`); 0 = never expire. */
  finishedTtlMs: number
  /** After any other event (or the first read of a new match); 0 = never expire. */
  idleTtlMs: number
}

export interface BrokerHealth {
  subscribers: SubscriberHealth[]
  /** Watched channels not subscribed right now (their shard is being found or reconnected). */
  pending: number
  /** Pub/sub messages received since start; `own` and `unwatched` ones were not needed. */
  messages: { received: number, own: number, unwatched: number }
}

export interface RedisBrokerOptions extends HistoryOptions, Partial<KeyLifetimes> {
  /** Command connection (shared), to one server or a cluster: runs the publish script and reads history. Not closed by the broker. */
  client: Redis | Cluster
  /**
   * One server: a dedicated connection for SUBSCRIBE (stuck in subscriber mode). A cluster: opens
   * a connection to a node, one per shard, for SSUBSCRIBE. The broker closes what it gets.
   */
  subscriber: Redis | ((node: NodeAddress) => Redis)
  /** Prefix of every key and channel: `${prefix}:match:{matchId}…`. */
  prefix: string
  log: BrokerLog
  now?: () => number
}

/**
 * A broker over Redis (one server or a cluster): several instances share sequences, history and rooms.
 *
 * - Sequencing, history and the PUBLISH happen in one Lua script (`lua/publish.lua`), so a seq is
 *   never assigned without being recorded and announced. Every key of a match carries its id as
 *   a hash tag (`${prefix}:match:{matchId}`), so on a cluster they share one slot, and the channel
 *   is a sharded one (SPUBLISH / SSUBSCRIBE, one subscriber connection per shard).
 * - Keys expire: `finishedTtlMs` after a terminal event, `idleTtlMs` after any other; a match read
 *   or resumed after that starts a new epoch (resync, never an error).
 * - Pub/sub is at-most-once and arrives on another connection than a publish's reply. Each watched
 *   match therefore has a `SequenceGate` that orders what arrives from both, fills gaps from
 *   history and resyncs subscribers when it cannot. A node's own batches are delivered from the
 *   script's reply (no network hop); its own pub/sub copy is dropped by its `node` prefix.
 * - When Redis is unreachable, `publish` rejects with `MATCHCAST_ERR_BROKER_UNAVAILABLE` and the
 *   match is remembered as lost: its next sequencing (or Redis coming back) starts a new epoch,
 *   so every subscriber on every instance resyncs from a snapshot instead of missing the change.
 *   `position` then answers `UNAVAILABLE_EPOCH` (the match is marked lost the same way) and
 *   `since` answers `undefined`, so rooms keep admitting clients from the store's state.
 */
/** The epoch of a position read while Redis did not answer; never the epoch of a real sequence. */
export const UNAVAILABLE_EPOCH = 'unavailable'
/** How often the new epochs of lost matches are tried again while Redis (or their shard) fails. */
export const LOST_RETRY_MS = 1000

export class RedisBroker implements Broker {
  readonly nodeId = randomUUID()
  readonly #client: (Redis | Cluster) & PublishCommand
  readonly #listener: ChannelListener
  readonly #publish: 'PUBLISH' | 'SPUBLISH'
  readonly #prefix: string
  readonly #options: HistoryOptions & KeyLifetimes
  readonly #log: BrokerLog
  readonly #now: () => number
  readonly #local = new LocalSubscribers()
  readonly #gates = new Map<string, SequenceGate>()
  /** Channel → match id, for the matches this node watches. */
  readonly #channels = new Map<string, string>()
  /** Matches whose events could not be sequenced: they get a new epoch as soon as Redis answers. */
  readonly #lost = new Set<string>()
  /** Own messages start with this, so they are dropped without parsing. */
  readonly #self: string
  readonly #traffic = { received: 0, own: 0, unwatched: 0 }
  /** Pending retry of the lost matches' new epochs. */
  #lostRetry: NodeJS.Timeout | undefined
  #healthy = true
  #closed = false

  constructor (options: RedisBrokerOptions) {
    this.#client = options.client as (Redis | Cluster) & PublishCommand
    this.#prefix = options.prefix
    this.#options = {
      historySize: options.historySize,
      historyTtlMs: options.historyTtlMs,
      finishedTtlMs: options.finishedTtlMs ?? 0,
      idleTtlMs: options.idleTtlMs ?? 0
    }
    this.#log = options.log
    this.#now = options.now ?? Date.now
    this.#self = `{"v":1,"node":"${this.nodeId}"`
    definePublish(this.#client)
    const hooks: ListenerHooks = { message: this.#onMessage, subscribed: this.#onSubscribed, lost: this.#onLost, error: this.#down }
    const { client, subscriber } = options
    if (client instanceof Cluster) {
      if (typeof subscriber !== 'function') throw new TypeError('a cluster broker opens one subscriber per shard: pass subscriber as (node) => Redis')
      this.#listener = new ShardListener(client, subscriber, hooks)
      this.#publish = 'SPUBLISH'
    } else {
      if (typeof subscriber === 'function') throw new TypeError('a broker on one Redis server listens on one connection: pass subscriber as a Redis client')
      this.#listener = new PlainListener(subscriber, hooks)
      this.#publish = 'PUBLISH'
    }
    this.#client.on('ready', this.#onReady)
    this.#client.on('close', this.#onConnectionLost)
  }

  /** The match's stream key; its history and channel add a suffix. The id is the hash tag: one slot per match. */
  #stream (matchId: string): string { return `${this.#prefix}:match:${hashTag(matchId)}` }

  async #run (matchId: string, rotate: boolean, events: PendingEvent[], eventArgs: string[]): Promise<PublishReply> {
    const stream = this.#stream(matchId)
    const { historySize, historyTtlMs, finishedTtlMs, idleTtlMs } = this.#options
    const finished = events.some((e) => TERMINAL_EVENTS.has(e.type))
    const lifetime = finished ? finishedTtlMs : idleTtlMs
    // A finished match's history goes with its stream, if that is sooner than the history's own age.
    const historyAge = finished && finishedTtlMs > 0 ? Math.min(historyTtlMs, finishedTtlMs) : historyTtlMs
    return this.#client.matchcastPublish(stream, `${stream}:history`, `${stream}:events`, randomUUID(), rotate ? '1' : '0',
      historySize, historyAge, this.nodeId, this.#publish, lifetime, ...eventArgs)
  }

  /**
   * The subscriber connections (one per cluster shard in use), the channels waiting for one, and
   * the pub/sub messages received: in all, this instance's own (delivered from the script's reply
   * already) and those of channels it no longer watches.
   */
  health (): BrokerHealth {
    return { ...this.#listener.health(), messages: { ...this.#traffic } }
  }

  async publish (matchId: string, events: PendingEvent[]): Promise<MatchEvent[]> {
    if (this.#closed) throw new Error('broker is closed')
    const ts = new Date(this.#now()).toISOString()
    const args: string[] = []
    // The JSON around each seq; the script puts the seq in between (see lua/publish.lua).
    for (const e of events) args.push(`{"type":"${e.type}","matchId":${JSON.stringify(matchId)},"seq":`, `,"ts":"${ts}","data":${JSON.stringify(e.data)}}`)
    const rotate = this.#lost.has(matchId)
    let reply: PublishReply
    try {
      reply = await this.#run(matchId, rotate, events, args)
    } catch (err) {
      this.#lost.add(matchId)
      this.#down(err)
      this.#retryLost()
      throw new BrokerUnavailableError(`events of match ${matchId} were not sequenced`, { cause: err })
    }
    if (rotate) this.#lost.delete(matchId)
    this.#up()
    const batch = parseBatch(reply[2])
    await this.#offer(matchId, batch)
    return batch.events
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
    const channel = `${this.#stream(matchId)}:events`
    this.#channels.set(channel, matchId)
    // The starting position is read now, on the command connection, so it is at or before that of
    // any reader that subscribes first and reads after (the rooms' snapshots).
    gate.sync()
    this.#listener.add([channel])
  }

  #unwatch (matchId: string): void {
    this.#gates.get(matchId)!.close()
    this.#gates.delete(matchId)
    const channel = `${this.#stream(matchId)}:events`
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
   * A connection to Redis dropped (the subscriber's tells every instance, publishing or not): the
   * outage is logged once, and resync notices wait for the recovery, so a room that watches many
   * matches gets them together.
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
      for (const matchId of [...this.#lost]) {
        const reply = await this.#run(matchId, true, [], [])
        this.#lost.delete(matchId)
        this.#up()
        await this.#offer(matchId, parseBatch(reply[2]))
      }
    } finally {
      this.#retryLost()
    }
  }

  /**
   * While matches are lost, tries their new epoch again every `LOST_RETRY_MS`: on a cluster the
   * shard that failed may serve again long before anything else tells this instance. No timer
   * while nothing is lost.
   */
  #retryLost (): void {
    if (this.#lost.size === 0 || this.#lostRetry !== undefined || this.#closed) return
    this.#lostRetry = setTimeout(() => {
      this.#lostRetry = undefined
      this.#rotateLost().catch(this.#down)
    }, LOST_RETRY_MS)
    this.#lostRetry.unref()
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
      return await this.#position(matchId)
    } catch (err) {
      this.#lost.add(matchId)
      this.#down(err)
      this.#retryLost()
      return { epoch: UNAVAILABLE_EPOCH, seq: 0 }
    }
  }

  async #position (matchId: string): Promise<StreamPosition> {
    const [epoch, seq, message] = await this.#run(matchId, false, [], [])
    // The read moved the stream to a new epoch (another primary wrote it): the announcement went to
    // every other instance; this one's gate learns it from the answer.
    if (message !== '') this.#gates.get(matchId)?.push(parseBatch(message))
    return { epoch, seq }
  }

  async since (matchId: string, afterSeq: number, epoch: string): Promise<MatchEvent[] | undefined> {
    try {
      return await this.#since(matchId, afterSeq, epoch)
    } catch (err) {
      // History cannot be read: the client cannot resume, it resyncs from a snapshot instead.
      this.#down(err)
      return undefined
    }
  }

  async #since (matchId: string, afterSeq: number, epoch: string): Promise<MatchEvent[] | undefined> {
    const stream = this.#stream(matchId)
    // One transaction, so the head and the history belong together.
    const [[, meta], [, list]] = (await this.#client.multi().hmget(stream, 'epoch', 'seq').lrange(`${stream}:history`, 0, -1).exec()) as
      [[null, [string | null, string | null]], [null, string[]]]
    const head = Number(meta[1] ?? 0)
    if (meta[0] !== epoch || afterSeq > head) return undefined
    if (afterSeq === head) return []
    const wanted = head - afterSeq
    if (list.length < wanted) return undefined
    const events = list.slice(list.length - wanted).map((raw) => JSON.parse(raw) as MatchEvent)
    // History is in seq and time order: if the oldest wanted event is young enough, all are.
    if (Date.parse(events[0]!.ts) < this.#now() - this.#options.historyTtlMs) return undefined
    return events
  }

  async close (): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    for (const gate of this.#gates.values()) gate.close()
    this.#gates.clear()
    this.#channels.clear()
    this.#local.clear()
    clearTimeout(this.#lostRetry)
    this.#client.off('ready', this.#onReady)
    this.#client.off('close', this.#onConnectionLost)
    await this.#listener.close()
  }
}
