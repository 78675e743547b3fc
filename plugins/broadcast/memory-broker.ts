import { randomUUID } from 'node:crypto'
import type { MatchEvent, PendingEvent } from '../../schemas/messages.js'
import { LocalSubscribers, type Broker, type EventHandler, type HistoryOptions, type ResyncHandler, type StreamPosition } from './broker.js'

interface Stream {
  seq: number
  history: MatchEvent[]
}

/**
 * A broker in this process's memory: **single node only**. Sequences and history live as long as
 * the process; the epoch is drawn once per broker, so a restart is always detected by clients.
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
      stream = { seq: 0, history: [] }
      this.#streams.set(matchId, stream)
    }
    return stream
  }

  async publish (matchId: string, events: PendingEvent[]): Promise<MatchEvent[]> {
    if (this.#closed) throw new Error('broker is closed')
    const stream = this.#stream(matchId)
    const ts = new Date(this.#now()).toISOString()
    const sequenced = events.map((e) => ({ type: e.type, matchId, seq: ++stream.seq, ts, data: e.data }) as MatchEvent)
    stream.history.push(...sequenced)
    const excess = stream.history.length - this.#options.historySize
    if (excess > 0) stream.history.splice(0, excess)
    this.#local.deliver(matchId, sequenced)
    return sequenced
  }

  /** Delivery is synchronous within `publish`, so a memory broker never needs to resync anyone. */
  subscribe (matchId: string, handler: EventHandler, onResync?: ResyncHandler): () => void {
    return this.#local.add(matchId, handler, onResync)
  }

  async position (matchId: string): Promise<StreamPosition> {
    return { seq: this.#streams.get(matchId)?.seq ?? 0, epoch: this.epoch }
  }

  async since (matchId: string, afterSeq: number, epoch: string): Promise<MatchEvent[] | undefined> {
    const stream = this.#stream(matchId)
    if (epoch !== this.epoch || afterSeq > stream.seq) return undefined
    if (afterSeq === stream.seq) return []
    const oldest = this.#now() - this.#options.historyTtlMs
    const kept = stream.history.filter((e) => Date.parse(e.ts) >= oldest)
    // Every event after `afterSeq` must still be held, or the caller would silently miss some.
    if (kept.length === 0 || kept[0]!.seq > afterSeq + 1) return undefined
    return kept.filter((e) => e.seq > afterSeq)
  }

  async close (): Promise<void> {
    this.#closed = true
    this.#local.clear()
  }
}
