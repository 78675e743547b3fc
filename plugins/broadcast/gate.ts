/**
 * The sequence gate of one match on one instance. Batches reach it in any order: a publish's own
 * result (command connection), other instances' batches (subscriber connection), gap fills from
 * history. It hands events to `deliver` exactly once, in seq order, without gaps; what it cannot
 * fill it reports to `resync` and then continues from the stream's current position.
 *
 * Pure: reads come in through `GateSource`, so the ordering logic is tested on its own. Reads run
 * one at a time; batches that arrive meanwhile wait in `pending`.
 */
import type { MatchEvent } from '../../schemas/messages.js'
import type { StreamPosition } from './broker.js'

/** A batch as published: its events, their epoch, and the stream head (last seq) after it. */
export interface SequencedBatch {
  epoch: string
  /** The stream's last seq once this batch was appended: its last event's seq, or the unchanged head of an announcement without events. */
  seq: number
  events: MatchEvent[]
}

export interface GateSource {
  position (): Promise<StreamPosition>
  since (afterSeq: number, epoch: string): Promise<MatchEvent[] | undefined>
}

export interface GateHooks {
  deliver (events: MatchEvent[]): void
  resync (): void
  /** A read failed (backend down): the gate goes stale and waits for the next `sync()` or batch. */
  onError (err: unknown): void
}

interface Waiter {
  epoch: string
  seq: number
  resolve (): void
}

export class SequenceGate {
  readonly #source: GateSource
  readonly #hooks: GateHooks
  /** Undefined until the first position read: until then every batch waits. */
  #epoch: string | undefined
  #delivered = 0
  #pending: SequencedBatch[] = []
  /** Epochs this gate has moved on from: their late batches are dropped, not mistaken for new ones. */
  readonly #retired = new Set<string>()
  /** The last read failed: delivery may have a gap until a read succeeds. */
  #stale = false
  #busy = false
  #wantSync = false
  #wantFill = false
  #closed = false
  #waiters: Waiter[] = []
  /** Resolved once no read is running or wanted. */
  #idle: Array<() => void> = []
  readonly #started: Promise<void>
  #markStarted!: () => void

  constructor (source: GateSource, hooks: GateHooks) {
    this.#source = source
    this.#hooks = hooks
    this.#started = new Promise((resolve) => { this.#markStarted = resolve })
  }

  /**
   * Resolves once the first read of the stream head has settled (or the gate closed). A position
   * read after that is at or after where delivery starts, whatever the transport did with the two
   * reads (a cluster client may retry one on another connection): a reader that snapshots from it
   * misses nothing the gate delivers.
   */
  started (): Promise<void> { return this.#started }

  /** Where delivery stands: `undefined` before the first position read. */
  get position (): StreamPosition | undefined {
    return this.#epoch === undefined ? undefined : { epoch: this.#epoch, seq: this.#delivered }
  }

  get stale (): boolean { return this.#stale }

  /** Reads the stream head: the starting point the first time; later, fills a gap or resyncs. */
  sync (): void {
    this.#wantSync = true
    this.#pump()
  }

  /** Offers a batch; it is delivered now if it is next, else held until the gap is filled. */
  push (batch: SequencedBatch): void {
    if (this.#closed) return
    this.#pending.push(batch)
    // A stale gate does not retry on its own (that would spin while the backend is down); a new
    // batch is the hint that it may answer again.
    if (this.#stale) this.#wantFill = true
    this.#drain()
    this.#pump()
  }

  /** Resolves once `seq` of `epoch` has been delivered, or the gate moved past it, went stale or closed. */
  waitFor (epoch: string, seq: number): Promise<void> {
    if (this.#settled(epoch, seq)) return Promise.resolve()
    return new Promise((resolve) => this.#waiters.push({ epoch, seq, resolve }))
  }

  /** Takes a batch sequenced on this node and resolves once it has been delivered (see `waitFor`). */
  offer (batch: SequencedBatch): Promise<void> {
    this.push(batch)
    return this.waitFor(batch.epoch, batch.seq)
  }

  /**
   * The stream is at `seq` of `epoch`, but its batches may not have come here (this node's own
   * publish whose reply timed out: its pub/sub copy was dropped as its own): read the gap from history.
   */
  catchUp (epoch: string, seq: number): Promise<void> {
    if (this.position?.epoch === epoch && this.position.seq >= seq) return Promise.resolve()
    this.sync()
    return this.waitFor(epoch, seq)
  }

  /** Resolves once no read is running or wanted any more (at once when none is), or the gate closed. */
  whenIdle (): Promise<void> {
    if (!this.#busy) return Promise.resolve()
    return new Promise((resolve) => this.#idle.push(resolve))
  }

  close (): void {
    this.#closed = true
    this.#markStarted()
    this.#pending = []
    this.#settle()
    for (const resolve of this.#idle.splice(0)) resolve()
  }

  #settled (epoch: string, seq: number): boolean {
    return this.#closed || this.#stale || this.#retired.has(epoch) || (epoch === this.#epoch && this.#delivered >= seq)
  }

  #settle (): void {
    if (this.#waiters.length === 0) return
    const waiting: Waiter[] = []
    for (const w of this.#waiters) {
      if (this.#settled(w.epoch, w.seq)) w.resolve()
      else waiting.push(w)
    }
    this.#waiters = waiting
  }

  /** Delivers every pending batch that is next in line; asks for a fill when one is not. */
  #drain (): void {
    if (this.#busy || this.#epoch === undefined) return
    let progressed = true
    while (progressed) {
      progressed = false
      for (const batch of [...this.#pending]) {
        if (this.#retired.has(batch.epoch) || (batch.epoch === this.#epoch && batch.seq <= this.#delivered)) {
          this.#remove(batch)
        } else if (batch.epoch !== this.#epoch) {
          // Another epoch: the stream restarted or rotated, maybe more than once, and replies and
          // pub/sub may bring epochs out of order. The stream's head decides which one is current
          // (once a read may succeed: a stale gate would otherwise retry at once, forever).
          if (!this.#stale) this.#wantSync = true
        } else {
          const fresh = batch.events.filter((e) => e.seq > this.#delivered)
          if (fresh[0]?.seq === this.#delivered + 1) {
            this.#remove(batch)
            this.#deliver(fresh)
            progressed = true
          }
        }
      }
    }
    if (this.#pending.some((b) => b.epoch === this.#epoch) && !this.#stale) this.#wantFill = true
    this.#settle()
  }

  #remove (batch: SequencedBatch): void {
    this.#pending.splice(this.#pending.indexOf(batch), 1)
  }

  #deliver (events: MatchEvent[]): void {
    this.#delivered = events[events.length - 1]!.seq
    this.#hooks.deliver(events)
  }

  /**
   * Tells subscribers to resync and continues from `seq` of `epoch`. Every batch held so far was
   * published before this point, so the snapshot the subscribers read next reflects it: pending
   * batches are dropped, and delivery continues after the newest of them.
   */
  #resyncTo (epoch: string, seq: number, seen: ReadonlySet<SequencedBatch>): void {
    for (const b of this.#pending) if (b.epoch === epoch && b.seq > seq) seq = b.seq
    this.#retire(epoch, seen)
    // Batches of an epoch not settled yet (they arrived during the read) ask for another one.
    this.#pending = this.#pending.filter((b) => b.epoch !== epoch && !this.#retired.has(b.epoch))
    this.#epoch = epoch
    this.#delivered = seq
    this.#hooks.resync()
  }

  /**
   * `current` is the head's epoch: the gate's previous one is over, and so is that of every batch
   * in `seen` (held before the head was read, so the head already reflects them).
   */
  #retire (current: string, seen: ReadonlySet<SequencedBatch>): void {
    if (this.#epoch !== undefined && this.#epoch !== current) this.#retired.add(this.#epoch)
    for (const b of seen) if (b.epoch !== current) this.#retired.add(b.epoch)
  }

  /** Runs the one read that is wanted (a sync covers a fill), then drains and looks again. */
  #pump (): void {
    if (this.#busy || this.#closed || !(this.#wantSync || this.#wantFill)) return
    const read = this.#wantSync || this.#epoch === undefined ? this.#syncOnce() : this.#fillOnce()
    this.#wantSync = false
    this.#wantFill = false
    this.#busy = true
    read.then(() => { this.#stale = false }, (err: unknown) => {
      this.#stale = true
      this.#hooks.onError(err)
    }).finally(() => {
      this.#busy = false
      this.#markStarted()
      if (this.#closed) return
      this.#drain()
      this.#pump()
      if (!this.#busy) for (const resolve of this.#idle.splice(0)) resolve()
    })
  }

  async #syncOnce (): Promise<void> {
    const seen = new Set(this.#pending)
    const head = await this.#source.position()
    if (this.#closed) return
    if (this.#epoch === undefined && !this.#stale) {
      // The starting position.
      this.#retire(head.epoch, seen)
      this.#epoch = head.epoch
      this.#delivered = head.seq
    } else if (this.#epoch === undefined || head.epoch !== this.#epoch) {
      // A new epoch, or the first read failed before (subscribers may have missed events).
      this.#resyncTo(head.epoch, head.seq, seen)
    } else {
      this.#retire(head.epoch, seen)
      if (head.seq > this.#delivered) await this.#fillOnce()
    }
  }

  async #fillOnce (): Promise<void> {
    const seen = new Set(this.#pending)
    const epoch = this.#epoch!
    const events = await this.#source.since(this.#delivered, epoch)
    if (this.#closed) return
    if (events !== undefined && events.length > 0) {
      this.#deliver(events)
      return
    }
    // History no longer holds the gap (trimmed, expired), the epoch moved on, or the stream has
    // nothing past what was delivered although a batch said so: resync from the head.
    const head = await this.#source.position()
    if (this.#closed) return
    this.#resyncTo(head.epoch, head.seq, seen)
  }
}
