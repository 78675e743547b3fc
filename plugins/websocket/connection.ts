import { randomUUID } from 'node:crypto'
import type { Socket } from 'node:net'
import type { FastifyBaseLogger } from 'fastify'
import type { RawData, WebSocket } from 'ws'
import type { EarlyFrameVerdict } from '../rate-limit/limiter.js'
import type { ServerFrame } from '../../schemas/messages.js'
import { CloseCode, type CloseCodeInfo } from '../../lib/errors.js'
import { kClosedWith } from '../../lib/symbols.js'
import { earlyFrameVerdict } from '../rate-limit/limiter.js'
import { DEFAULT_BURST, DEFAULT_MAX_PAYLOAD_BYTES } from '../rate-limit/options.js'

/** `init` until admitted (auth, membership, limits, snapshot), `ready` while serving, then `closing`. */
export type ConnectionState = 'init' | 'ready' | 'closing'

export type MessageHandler = (data: RawData, isBinary: boolean) => Promise<void>

/** Limits on a socket's send buffer (`bufferedAmount`), in bytes. */
export interface BackpressureOptions {
  /** Above it, non-terminal events are skipped and the socket is resynced once it drains. */
  highWaterMark: number
  /** Crossing it also starts the `graceMs` deadline (replies and terminal events are never skipped). */
  hardLimit: number
  /** A socket that has not drained this long after it became congested is a slow consumer (4012). */
  graceMs: number
}

/** The TCP socket under a WebSocket (the upgraded request's): what the server writes to it can be held and sent together. */
export type Transport = Pick<Socket, 'cork' | 'uncork'>

/** `ws` send options of every frame: text, whether given as a string or as its UTF-8 bytes. */
const TEXT = { binary: false } as const

export const DEFAULT_BACKPRESSURE: BackpressureOptions = { highWaterMark: 1024 * 1024, hardLimit: 4 * 1024 * 1024, graceMs: 5000 }

/**
 * The code the server closed `socket` with, when it closed first. `ws` reports 1006 for a socket
 * the server cut (a slow consumer, or a peer that never finished the closing handshake).
 */
export function closedWith (socket: WebSocket): number | undefined {
  return (socket as WebSocket & { [kClosedWith]?: number })[kClosedWith]
}

/**
 * One room socket. Listeners are attached synchronously at creation; messages that arrive before
 * the connection is admitted are queued, then handled in order. Messages are handled one at a
 * time, so replies keep the order of commands. `close()` is idempotent and runs every closer once.
 *
 * What the server sends a socket in the turn of the event loop in which it received a frame is
 * written together at the end of that turn: a command's event and its ack (the memory store
 * answers within the turn) leave in one write, one TCP segment, instead of one each.
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
  readonly #earlyVerdict: EarlyFrameVerdict
  #early: Array<[RawData, boolean]> = []
  #earlyBytes = 0
  #killTimer: NodeJS.Timeout | undefined
  #isClosed = false
  /** Whether the transport holds this turn's writes. */
  #corked = false

  constructor (socket: WebSocket, transport: Transport, log: FastifyBaseLogger, closeGraceMs: number, backpressure: BackpressureOptions = DEFAULT_BACKPRESSURE,
    early: EarlyFrameVerdict = earlyFrameVerdict({ maxPayloadBytes: DEFAULT_MAX_PAYLOAD_BYTES, burst: DEFAULT_BURST })) {
    this.socket = socket
    this.log = log
    this.#closeGraceMs = closeGraceMs
    this.#backpressure = backpressure
    this.#earlyVerdict = early
    // One cork per turn, however many frames arrived in it (an ended socket ignores the uncork).
    const uncork = () => {
      this.#corked = false
      transport.uncork()
    }
    socket.on('message', (data, isBinary) => {
      if (!this.#corked) {
        this.#corked = true
        transport.cork()
        setImmediate(uncork)
      }
      this.alive = true
      if (this.#handler === undefined) this.#queueEarly(data, isBinary)
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
    this.#earlyBytes = 0
    for (const [data, isBinary] of early) this.#enqueue(data, isBinary)
  }

  /**
   * Before admission: a frame over the payload limit closes 4010 at once, and the queue is bounded
   * (closing 4009), so a client cannot pile up work or memory while its admission waits.
   */
  #queueEarly (data: RawData, isBinary: boolean): void {
    if (this.state === 'closing') return
    // The sockets keep ws's default binaryType ('nodebuffer'): every message is one Buffer.
    const size = (data as Buffer).byteLength
    const refused = this.#earlyVerdict({ frames: this.#early.length, bytes: this.#earlyBytes }, size)
    if (refused !== undefined) return this.close(refused)
    this.#early.push([data, isBinary])
    this.#earlyBytes += size
  }

  #enqueue (data: RawData, isBinary: boolean): void {
    const handler = this.#handler!
    this.#chain = this.#chain.then(() => (this.state === 'ready' ? handler(data, isBinary) : undefined))
  }

  /** Serializes and sends a frame; nothing is sent once closing. */
  send (frame: ServerFrame): void {
    this.sendRaw(JSON.stringify(frame))
  }

  /**
   * Sends a frame already serialized: a string, or the UTF-8 bytes a room encoded once for every
   * socket (sent as a text frame, so no socket converts it again).
   */
  sendRaw (data: string | Buffer): void {
    if (this.state === 'closing') return
    this.socket.send(data, TEXT)
    if (this.socket.bufferedAmount > this.#backpressure.hardLimit) this.#watchDrain()
  }

  /** Whether the send buffer is above the high-water mark (events are then skipped for this socket). */
  get congested (): boolean {
    return this.socket.bufferedAmount > this.#backpressure.highWaterMark
  }

  /**
   * Runs `fn` once the send buffer has drained. Dropped if the socket closes first, so nothing
   * stays scheduled for a closed socket. A socket that has not drained within `graceMs` is cut as
   * a slow consumer, whether or not it crossed the hard limit.
   */
  whenDrained (fn: () => void): void {
    this.#onDrained.push(fn)
    this.#watchDrain()
  }

  #watchDrain (): void {
    if (this.#draining) return
    this.#draining = true
    this.#slowTimer = setTimeout(() => this.close(CloseCode.slowConsumer), this.#backpressure.graceMs)
    this.#slowTimer.unref()
    // A ping is queued behind everything buffered: its callback runs once all of that was written
    // out. What was sent after it is small (replies); a socket still full is caught by the next send.
    this.socket.ping(undefined, undefined, (err) => {
      if (err) return
      clearTimeout(this.#slowTimer)
      this.#draining = false
      for (const fn of this.#onDrained.splice(0)) fn()
    })
  }

  /** Runs `fn` once when the connection closes (or at once if it already has). */
  onClose (fn: () => unknown): void {
    if (this.#isClosed) fn()
    else this.#closers.push(fn)
  }

  /**
   * Closes with a code of the close-code table. A peer that does not finish the closing handshake
   * within the grace period is cut off. A slow consumer is cut at once: its close frame would wait
   * behind everything it has not read. The server records its 4012 (metric, log); it sees 1006.
   */
  close (info: CloseCodeInfo): void {
    if (this.state === 'closing') return
    this.state = 'closing'
    this.#early = []
    markClosed(this.socket, info.code)
    if (info.code === CloseCode.slowConsumer.code) {
      this.log.info({ code: info.code, reason: info.reason, bufferedAmount: this.socket.bufferedAmount }, 'slow consumer: connection cut')
      this.socket.terminate()
      return
    }
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

function markClosed (socket: WebSocket, code: number): void {
  (socket as WebSocket & { [kClosedWith]?: number })[kClosedWith] = code
}
