import { randomUUID } from 'node:crypto'
import type { FastifyBaseLogger } from 'fastify'
import type { RawData, WebSocket } from 'ws'
import type { ServerFrame } from '../schemas/messages.js'
import type { CloseCodeInfo } from './errors.js'

/** `init` until admitted (auth, membership, limits, snapshot), `ready` while serving, then `closing`. */
export type ConnectionState = 'init' | 'ready' | 'closing'

export type MessageHandler = (data: RawData, isBinary: boolean) => Promise<void>

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
  /** Set by every pong (and every message); cleared by each heartbeat tick. */
  alive = true
  /** Last seq sent per match: events at or below it are never sent again. */
  readonly lastSeq = new Map<string, number>()
  readonly #closers: Array<() => unknown> = []
  readonly #closeGraceMs: number
  #handler: MessageHandler | undefined
  #chain: Promise<void> = Promise.resolve()
  #early: Array<[RawData, boolean]> = []
  #killTimer: NodeJS.Timeout | undefined
  #isClosed = false

  constructor (socket: WebSocket, log: FastifyBaseLogger, closeGraceMs: number) {
    this.socket = socket
    this.log = log
    this.#closeGraceMs = closeGraceMs
    socket.on('message', (data, isBinary) => {
      this.alive = true
      if (this.#handler === undefined) this.#early.push([data, isBinary])
      else this.#enqueue(data, isBinary)
    })
    socket.on('pong', () => { this.alive = true })
    socket.on('close', () => this.#closed())
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
    if (this.state !== 'closing') this.socket.send(data)
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

  #closed (): void {
    this.#isClosed = true
    this.state = 'closing'
    clearTimeout(this.#killTimer)
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
