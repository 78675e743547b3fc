import { randomUUID } from 'node:crypto'
import type { MatchEvent, PendingEvent } from '../../schemas/messages.js'
import { LocalSubscribers, type Broker, type EventHandler, type HistoryOptions, type RelayBatch, type RelayResult, type ResyncHandler, type StreamPosition } from './broker.js'

interface Stream {
  seq: number
  history: MatchEvent[]
  epoch: string
  /** The match version the stream reflects (see `Broker.relay`); -1 until a relay sets it. */
  version: number
}

/**
 * A broker in this process's memory: **single node only**. Sequences and history live as long as
 * the process; every match starts in the epoch drawn once per broker, so a restart is always
 * detected by clients, and a match whose changes cannot be announced moves to an epoch of its own.
 */
export class MemoryBroker implements Broker {
  readonly epoch = randomUUID()
  readonly #streams = new Map<string, Stream>()
  readonly #local = new LocalSubscribers()
  readonly #options: HistoryOptions
  readonly #now: () => number
  #closed = false

  constructor (options: HistoryOptions, now: () => number = Date.now) {
    this.#options = options
    this.#now = now
  }

  #stream (matchId: string): Stream {
    let stream = this.#streams.get(matchId)
    if (stream === undefined) {
      stream = { seq: 0, history: [], epoch: this.epoch, version: -1 }
      this.#streams.set(matchId, stream)
    }
    return stream
  }

  async publish (matchId: string, events: PendingEvent[]): Promise<MatchEvent[]> {
    if (this.#closed) throw new Error('broker is closed')
    return this.#append(matchId, this.#stream(matchId), events)
  }

  /** The same checks as the Redis script (lua/publish.lua), synchronously, so they are atomic too. */
  async relay (matchId: string, batch: RelayBatch): Promise<RelayResult> {
    if (this.#closed) throw new Error('broker is closed')
    const stream = this.#stream(matchId)
    const { version } = stream
    const rotating = batch.rotateFrom !== undefined
    if (rotating && (batch.rotateFrom ?? -1) !== version) return { status: 'moved', version: version < 0 ? undefined : version }
    if (!rotating && version >= 0 && batch.base > version) return { status: 'gap', version }
    // An event the stream already reflects was sequenced by a relay that died before marking it done.
    const kept = batch.events.filter((_e, i) => (batch.versions[i] ?? Infinity) > version)
    stream.version = Math.max(version, batch.last)
    if (!rotating) return { status: 'published', events: this.#append(matchId, stream, kept), version: stream.version }
    // A new epoch: the events are sequenced in it, and every subscriber resyncs from a snapshot.
    stream.epoch = randomUUID()
    stream.history = []
    stream.seq += kept.length
    this.#local.resync(matchId)
    return { status: 'published', events: [], version: stream.version }
  }

  #append (matchId: string, stream: Stream, events: PendingEvent[]): MatchEvent[] {
    const ts = new Date(this.#now()).toISOString()
    const sequenced = events.map((e) => ({ type: e.type, matchId, seq: ++stream.seq, ts, data: e.data }) as MatchEvent)
    if (sequenced.length === 0) return sequenced
    stream.history.push(...sequenced)
    // Trimmed in bulk once it holds twice its size, so a full history costs no shift per event;
    // `since` reads only the newest `historySize`.
    const { historySize } = this.#options
    if (stream.history.length > 2 * historySize) stream.history.splice(0, stream.history.length - historySize)
    this.#local.deliver(matchId, sequenced)
    return sequenced
  }

  /** Delivery is synchronous within `publish`, so a memory broker never needs to resync anyone. */
  subscribe (matchId: string, handler: EventHandler, onResync?: ResyncHandler): () => void {
    return this.#local.add(matchId, handler, onResync)
  }

  async position (matchId: string): Promise<StreamPosition> {
    const stream = this.#streams.get(matchId)
    if (stream === undefined) return { seq: 0, epoch: this.epoch }
    const { seq, epoch, version } = stream
    return version < 0 ? { seq, epoch } : { seq, epoch, version }
  }

  async since (matchId: string, afterSeq: number, epoch: string): Promise<MatchEvent[] | undefined> {
    const stream = this.#stream(matchId)
    if (epoch !== stream.epoch || afterSeq > stream.seq) return undefined
    if (afterSeq === stream.seq) return []
    const oldest = this.#now() - this.#options.historyTtlMs
    const held = stream.history.slice(Math.max(0, stream.history.length - this.#options.historySize))
    const kept = held.filter((e) => Date.parse(e.ts) >= oldest)
    // Every event after `afterSeq` must still be held, or the caller would silently miss some.
    if (kept.length === 0 || kept[0]!.seq > afterSeq + 1) return undefined
    return kept.filter((e) => e.seq > afterSeq)
  }

  async close (): Promise<void> {
    this.#closed = true
    this.#local.clear()
  }
}
