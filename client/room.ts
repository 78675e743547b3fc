/**
 * One room's connection: token, socket, reconnect and resume by the close-code table, liveness
 * pings, commands until their reply, and the room's events. What a match room and a tournament
 * room do differently (the URL, applying snapshots and events) is in their own modules.
 */
import type { MatchEvent } from '../schemas/events.js'
import type { MatchSnapshotFrame, ServerFrame, TournamentSnapshotFrame } from '../schemas/frames.js'
import { backoffDelay } from './backoff.js'
import { reactionTo } from './close-codes.js'
import { PendingCommands, type Command } from './commands.js'
import { MatchcastError } from './errors.js'
import type { ResolvedOptions, WebSocketLike } from './options.js'
import { eventsOf, type Placement } from './state.js'

/** `connecting` until first live; `live`; `reconnecting` after a drop; `closed` for good. */
export type RoomStatus = 'connecting' | 'live' | 'reconnecting' | 'closed'

/** What a room emits, by event name. */
export interface RoomEvents<Snapshot> {
  /** Every snapshot, resync ones included: it replaces the room's state. */
  snapshot: Snapshot
  /** Each match event once, in seq order per match. */
  event: MatchEvent
  status: RoomStatus
  /** Why the room stopped (its status is then `closed`). */
  error: MatchcastError
}

/** The subprotocol the server answers; the token rides beside it as `bearer.<jwt>`, never in the URL. */
const SUBPROTOCOL = 'matchcast.v1'
/** Listener for an abandoned socket's late `error` (the `ws` package throws on an unheard one). */
const ignore = () => {}

type Listener = (value: never) => void

export abstract class Room<Snapshot extends MatchSnapshotFrame | TournamentSnapshotFrame> {
  readonly #options: ResolvedOptions
  readonly #path: string
  readonly #onStop: () => void
  readonly #listeners = new Map<string, Set<Listener>>()
  readonly #commands: PendingCommands
  #status: RoomStatus = 'connecting'
  #stopped = false
  #socket: WebSocketLike | undefined
  /** Number of the current socket (each connect attempt gets the next). */
  #no = 0
  /** The current socket is admitted: the server answered on it. Commands are written only then. */
  #admitted = false
  /** Reconnect attempts since the room was last live. */
  #attempt = 0
  /** 4001s in a row since the room was last live. */
  #unauthorized = 0
  #retryTimer: ReturnType<typeof setTimeout> | undefined
  #pingTimer: ReturnType<typeof setInterval> | undefined
  #pongTimer: ReturnType<typeof setTimeout> | undefined

  constructor (options: ResolvedOptions, path: string, onStop: () => void) {
    this.#options = options
    this.#path = path
    this.#onStop = onStop
    this.#commands = new PendingCommands(options.commandIdTtlMs)
    const target = globalThis as { addEventListener?: (type: string, fn: () => void) => void }
    target.addEventListener?.('online', this.#online)
    // Started on the next microtask, so listeners attached right after creation hear `connecting`.
    queueMicrotask(() => {
      if (this.#stopped) return
      this.#emit('status', 'connecting')
      this.#connect()
    })
  }

  get status (): RoomStatus { return this.#status }

  /** Listens to one of the room's events; returns the function that stops listening. */
  on<K extends keyof RoomEvents<Snapshot>> (name: K, listener: (value: RoomEvents<Snapshot>[K]) => void): () => void {
    let set = this.#listeners.get(name)
    if (set === undefined) this.#listeners.set(name, set = new Set())
    set.add(listener as Listener)
    return () => { set.delete(listener as Listener) }
  }

  /** Closes the room for good: pending commands reject with `closed`. Idempotent. */
  close (): void {
    this.#stop(undefined)
  }

  /** The room's path and query (a match room adds its resume position). */
  protected abstract url (path: string): string
  protected abstract applySnapshot (frame: Snapshot): void
  protected abstract applyEvent (event: MatchEvent): Placement

  /** Sends a command; resolves on its `ack` (or `pong`), rejects with the error reply or when the room stops. */
  protected sendCommand (command: Command): Promise<void> {
    if (this.#stopped) return Promise.reject(new MatchcastError('closed', 'the room is closed'))
    const { id, frame, reply } = this.#commands.add(command)
    if (this.#admitted) {
      this.#socket!.send(frame)
      this.#commands.sent(id, this.#no, Date.now())
    }
    return reply
  }

  #emit<K extends keyof RoomEvents<Snapshot>> (name: K, value: RoomEvents<Snapshot>[K]): void {
    if (name === 'status') this.#status = value as RoomStatus
    for (const listener of [...this.#listeners.get(name) ?? []]) {
      try {
        (listener as (value: RoomEvents<Snapshot>[K]) => void)(value)
      } catch (err) {
        // A listener's bug must not leave the room half-updated: it is reported on its own.
        setTimeout(() => { throw err })
      }
    }
  }

  async #connect (): Promise<void> {
    this.#no++
    let token: string | undefined
    try {
      token = await this.#options.token()
    } catch {}
    if (this.#stopped) return
    // token() failed (e.g. the sign-in service is down): try again after a back-off.
    if (token === undefined) return this.#retry(backoffDelay(this.#options.backoff, this.#attempt++))
    let socket: WebSocketLike
    try {
      socket = new this.#options.WebSocket(this.url(this.#options.base + this.#path), [SUBPROTOCOL, `bearer.${token}`])
    } catch {
      // The URL was checked by connect(): what the WebSocket refused is the token as a subprotocol.
      return this.#react(4001, 'the token is not a valid subprotocol entry')
    }
    this.#socket = socket
    socket.onopen = () => this.#opened()
    socket.onmessage = (event: { data: unknown }) => this.#message(event.data)
    // An abandoned socket has no handlers left: whatever these hear is the current socket's.
    socket.onclose = (event: { code: number, reason: string }) => {
      this.#abandon()
      this.#react(event.code, event.reason)
    }
    socket.onerror = ignore
  }

  #opened (): void {
    // The first frame back (the snapshot, a replayed event or this pong) says the socket was admitted.
    this.#ping()
    if (this.#options.pingIntervalMs > 0) this.#pingTimer = setInterval(() => this.#ping(), this.#options.pingIntervalMs)
  }

  /**
   * The server answered on the current socket: it is live. Commands go out only now, the ones whose
   * reply was lost first: the server bounds what a socket may send before it is admitted.
   */
  #admit (): void {
    this.#admitted = true
    for (const frame of this.#commands.resend(this.#no, Date.now())) this.#socket!.send(frame)
  }

  #ping (): void {
    this.#socket!.send('{"type":"ping"}')
    if (this.#pongTimer === undefined && this.#options.pingIntervalMs > 0) {
      this.#pongTimer = setTimeout(() => this.#drop('ping_timeout'), this.#options.pongTimeoutMs)
    }
  }

  #message (data: unknown): void {
    clearTimeout(this.#pongTimer)
    this.#pongTimer = undefined
    let frame: ServerFrame | undefined
    try {
      frame = JSON.parse(String(data)) as ServerFrame
    } catch {}
    if (typeof frame !== 'object' || frame === null) return this.#drop('invalid_frame')
    switch (frame.type) {
      case 'ack':
      case 'pong':
      case 'error':
        this.#commands.reply(frame)
        break
      case 'snapshot':
        this.applySnapshot(frame as Snapshot)
        this.#emit('snapshot', frame as Snapshot)
        break
      default:
        // Frames outside the match's sequence (a later protocol's notices) are not events.
        if (frame.type !== 'batch' && typeof frame.seq !== 'number') break
        for (const event of eventsOf(frame)) {
          const placement = this.applyEvent(event)
          // A gap: resume from the last applied seq.
          if (placement === 'gap') return this.#drop('gap')
          if (placement === 'next') this.#emit('event', event)
          // A listener may close the room: nothing more is heard then.
          if (this.#stopped) return
        }
    }
    if (this.#stopped || this.#admitted) return
    this.#attempt = 0
    this.#unauthorized = 0
    this.#admit()
    this.#emit('status', 'live')
  }

  /** Leaves the current socket: no more of its events are heard; closes it when `code` is given. */
  #abandon (code?: number, reason?: string): void {
    const socket = this.#socket
    this.#socket = undefined
    this.#admitted = false
    clearInterval(this.#pingTimer)
    clearTimeout(this.#pongTimer)
    this.#pingTimer = this.#pongTimer = undefined
    if (socket === undefined) return
    socket.onopen = socket.onmessage = socket.onclose = null
    socket.onerror = ignore
    if (code !== undefined) socket.close(code, reason)
  }

  /**
   * Drops a socket the SDK gave up on (silent, a gap, garbage) and resumes: at once the first
   * time since the room was live, then after the back-off.
   */
  #drop (reason: string): void {
    this.#abandon(1000, reason)
    const attempt = this.#attempt++
    this.#retry(attempt === 0 ? 0 : backoffDelay(this.#options.backoff, attempt))
  }

  /** Follows the advice of the close-code table. */
  #react (code: number, reason: string): void {
    const [reaction, errorCode] = reactionTo(code)
    const error = () => new MatchcastError(errorCode!, reason === '' ? `closed with ${code}` : reason, { closeCode: code })
    switch (reaction) {
      case 'stop':
        return this.#stop(error())
      case 'new-token':
        if (++this.#unauthorized >= 2) return this.#stop(error())
        return this.#retry(0)
      case 'reject':
        this.#commands.rejectFirstUnanswered(this.#no, error())
        return this.#retry(backoffDelay(this.#options.backoff, this.#attempt++))
      case 'slow-down':
        return this.#retry(backoffDelay(this.#options.backoff, Infinity))
      case 'resume':
        return this.#retry(backoffDelay(this.#options.backoff, this.#attempt++))
    }
  }

  #retry (delayMs: number): void {
    if (this.#status === 'live') this.#emit('status', 'reconnecting')
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined
      this.#connect()
    }, delayMs)
  }

  /** Back online (browsers): a room waiting to reconnect does it now. */
  readonly #online = (): void => {
    if (this.#retryTimer === undefined) return
    clearTimeout(this.#retryTimer)
    this.#retryTimer = undefined
    this.#connect()
  }

  #stop (error: MatchcastError | undefined): void {
    if (this.#stopped) return
    this.#stopped = true
    clearTimeout(this.#retryTimer)
    this.#abandon(1000, 'normal')
    const target = globalThis as { removeEventListener?: (type: string, fn: () => void) => void }
    target.removeEventListener?.('online', this.#online)
    this.#commands.rejectAll(new MatchcastError('closed', error === undefined
      ? 'the room was closed before the reply'
      : `the room stopped before the reply: ${error.message}`, { closeCode: error?.closeCode }))
    if (error !== undefined) this.#emit('error', error)
    this.#emit('status', 'closed')
    this.#onStop()
  }
}
