/**
 * SDK test helpers: a `connect()` on Node with the `ws` package (instrumented to record the close
 * codes it sees), and a log of everything a room emits, with event-driven waits.
 */
import WebSocket from 'ws'
import { connect, type ConnectOptions, type MatchcastClient, type MatchcastError, type MatchEvent, type RoomStatus, type WebSocketConstructor } from '../../client/index.js'
import { token, until, WAIT_MS, type TapLike } from '../helper.js'

export interface Instrumented {
  WebSocket: WebSocketConstructor
  /** Close codes the sockets saw, in order. */
  closes: number[]
  sockets: WebSocket[]
}

/**
 * The `ws` WebSocket class, as an SDK user passes it, recording what the tests need to see: each
 * socket and its close code. `autoPong: false` makes a peer that ignores server pings (4011);
 * `route` rewrites the URL of each new socket (a load balancer sending clients to another instance).
 */
export function instrumentedWebSocket (options: { autoPong?: boolean, route?: (url: string) => string } = {}): Instrumented {
  const closes: number[] = []
  const sockets: WebSocket[] = []
  class InstrumentedWebSocket extends WebSocket {
    constructor (url: string, protocols: string[]) {
      super(options.route === undefined ? url : options.route(url), protocols, { autoPong: options.autoPong ?? true })
      sockets.push(this)
      this.on('close', (code) => { closes.push(code) })
    }
  }
  return { WebSocket: InstrumentedWebSocket, closes, sockets }
}

/** Fast reconnects for tests: back-off between 5 and 50 ms. */
export const FAST = { backoff: { minMs: 5, maxMs: 50, factor: 2 } }

/** An SDK client for `user` against `url`; closed at teardown. */
export function sdk (t: TapLike, url: string, user: string, options: Partial<ConnectOptions> = {}): MatchcastClient {
  const client = connect({ url, token: () => token(user), WebSocket, ...FAST, ...options })
  t.teardown(() => client.close())
  return client
}

interface Observable<S> {
  on (name: 'snapshot', fn: (value: S) => void): () => void
  on (name: 'event', fn: (value: MatchEvent) => void): () => void
  on (name: 'status', fn: (value: RoomStatus) => void): () => void
  on (name: 'error', fn: (value: MatchcastError) => void): () => void
  readonly status: RoomStatus
}

/** Everything a room emits, in order. */
export interface RoomLog<S> {
  snapshots: S[]
  events: MatchEvent[]
  statuses: RoomStatus[]
  errors: MatchcastError[]
  /** Resolves once `predicate` holds (checked on every turn of the event loop); rejects after `ms`. */
  until (predicate: () => boolean, ms?: number): Promise<void>
  /** Resolves once the room's status is `status`. */
  status (status: RoomStatus, ms?: number): Promise<void>
}

export function watch<S> (room: Observable<S>): RoomLog<S> {
  const log: RoomLog<S> = {
    snapshots: [],
    events: [],
    statuses: [],
    errors: [],
    until: (predicate, ms = WAIT_MS) => until(predicate, ms),
    status: (status, ms = WAIT_MS) => until(() => room.status === status, ms)
  }
  room.on('snapshot', (s) => log.snapshots.push(s))
  room.on('event', (e) => log.events.push(e))
  room.on('status', (s) => log.statuses.push(s))
  room.on('error', (e) => log.errors.push(e))
  return log
}
