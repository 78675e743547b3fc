import { randomUUID } from 'node:crypto'
import type { FastifyBaseLogger } from 'fastify'
import type { RawData, WebSocket } from 'ws'
import type { ServerFrame } from '../../schemas/messages.js'
import { CloseCode, type CloseCodeInfo } from '../../lib/errors.js'

/** `init` until admitted (auth, membership, limits, snapshot), `ready` while serving, then `closing`. */
export type ConnectionState = 'init' | 'ready' | 'closing'

export type MessageHandler = (data: RawData, isBinary: boolean) => Promise<void>

/** Limits on a socket's send buffer (`bufferedAmount`), in bytes. */
export interface BackpressureOptions {
  /** Above it, non-terminal events are skipped and the socket is resynced once it drains. */
  highWaterMark: number
  /** A socket that stays above it for `graceMs` is closed 4012. */
  hardLimit: number
  graceMs: number
}

export const DEFAULT_BACKPRESSURE: BackpressureOptions = { highWaterMark: 1024 * 1024, hardLimit: 4 * 1024 * 1024, graceMs: 5000 }

/**
 * One room socket. Listeners are attached synchronously at creation; messages that arrive before
 * the connection is admitted are queued, then handled in order. Messages are handled one at a
 * time, so replies keep the order of commands. `close()` is idempotent and runs every closer once.
 */
export class Connection {
  readonly id = randomUUID()
  readonly socket: WebSocket
  readonly log: FastifyBaseLogger
  state: ConnectionState = 'init'
  userId: string | undefined
  /** The room's path, e.g. `/ws/matches/m1` (what the close line logs). */
  room: string | undefined
  /** Set by every pong (and every message); cleared by each heartbeat tick. */
  alive = true
  /** Last seq sent per match: events at or below it are never sent again. */
  readonly lastSeq = new Map<string, number>()
  readonly #closers: Array<() => unknown> = []
  readonly #closeGraceMs: number
  readonly #backpressure: BackpressureOptions
  /** Run once the send buffer has drained below the high-water mark. */
  #onDrained: Array<() => void> = []
  #draining = false
  #slowTimer: NodeJS.Timeout | undefined
  #handler: MessageHandler | undefined
  #chain: Promise<void> = Promise.resolve()
  #early: Array<[RawData, boolean]> = []
  #killTimer: NodeJS.Timeout | undefined
  #isClosed = false

  constructor (socket: WebSocket, log: FastifyBaseLogger, closeGraceMs: number, backpressure: BackpressureOptions = DEFAULT_BACKPRESSURE) {
    this.socket = socket
    this.log = log
    this.#closeGraceMs = closeGraceMs
    this.#backpressure = backpressure
    socket.on('message', (data, isBinary) => {
      this.alive = true
      if (this.#handler === undefined) this.#early.push([data, isBinary])
      else this.#enqueue(data, isBinary)
    })
    socket.on('pong', () => { this.alive = true })
    socket.on('close', (code: number, reason: Buffer) => this.#closed(code, reason.toString()))
  }

  /** Starts handling messages (queued ones first). */
  ready (handler: MessageHandler): void {
    if (this.state !== 'init') return
    this.state = 'ready'
    this.#handler = handler
    const early = this.#early
    this.#early = []
    for (const [data, isBinary] of early) this.#enqueue(data, isBinary)
  }

  #enqueue (data: RawData, isBinary: boolean): void {
    const handler = this.#handler!
    this.#chain = this.#chain.then(() => (this.state === 'ready' ? handler(data, isBinary) : undefined))
  }

  /** Serializes and sends a frame; nothing is sent once closing. */
  send (frame: ServerFrame): void {
    this.sendRaw(JSON.stringify(frame))
  }

  /** Sends bytes already serialized (shared by every socket of a room). */
  sendRaw (data: string): void {
    if (this.state === 'closing') return
    this.socket.send(data)
    if (this.socket.bufferedAmount > this.#backpressure.hardLimit) this.#overHardLimit()
  }

  /** Whether the send buffer is above the high-water mark (events are then skipped for this socket). */
  get congested (): boolean {
    return this.socket.bufferedAmount > this.#backpressure.highWaterMark
  }

  /**
   * Runs `fn` once the send buffer is below the high-water mark again. Dropped if the socket
   * closes first, so nothing stays scheduled for a closed socket.
   */
  whenDrained (fn: () => void): void {
    this.#onDrained.push(fn)
    if (this.#draining) return
    this.#draining = true
    this.#probe()
  }

  #probe (): void {
    if (this.socket.bufferedAmount > this.#backpressure.hardLimit) this.#overHardLimit()
    // A ping is queued behind everything buffered: its callback runs once all of that was written
    // out. What was sent after it is small (replies); a socket still full is caught by the next send.
    this.socket.ping(undefined, undefined, (err) => {
      if (err) return
      clearTimeout(this.#slowTimer)
      this.#slowTimer = undefined
      this.#draining = false
      for (const fn of this.#onDrained.splice(0)) fn()
    })
  }

  /** Starts the grace period of a socket above the hard limit; still above it at the end → 4012. */
  #overHardLimit (): void {
    if (this.#slowTimer !== undefined) return
    this.#slowTimer = setTimeout(() => {
      this.#slowTimer = undefined
      if (this.socket.bufferedAmount > this.#backpressure.hardLimit) this.close(CloseCode.slowConsumer)
    }, this.#backpressure.graceMs)
    this.#slowTimer.unref()
  }

  /** Runs `fn` once when the connection closes (or at once if it already has). */
  onClose (fn: () => unknown): void {
    if (this.#isClosed) fn()
    else this.#closers.push(fn)
  }

  /**
   * Closes with a code of the close-code table. A peer that does not finish the closing handshake
   * within the grace period is cut off.
   */
  close (info: CloseCodeInfo): void {
    if (this.state === 'closing') return
    this.state = 'closing'
    this.socket.close(info.code, info.reason)
    this.#killTimer = setTimeout(() => this.socket.terminate(), this.#closeGraceMs)
    this.#killTimer.unref()
  }

  #closed (code: number, reason: string): void {
    // One line per connection closed: who, which room, how (never the token).
    this.log.info({ userId: this.userId, room: this.room, code, reason }, 'room connection closed')
    this.#isClosed = true
    this.state = 'closing'
    clearTimeout(this.#killTimer)
    clearTimeout(this.#slowTimer)
    this.#onDrained = []
    for (const fn of this.#closers.splice(0)) {
      // A closer that throws or rejects is logged; the others still run.
      Promise.resolve().then(fn).catch((err: unknown) => this.log.error({ err }, 'connection closer failed'))
    }
  }

  /** Resolves once the socket has closed. */
  whenClosed (): Promise<void> {
    if (this.#isClosed) return Promise.resolve()
    return new Promise((resolve) => this.socket.once('close', () => resolve()))
  }
}
