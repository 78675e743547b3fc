import type { FastifyBaseLogger } from 'fastify'
import type { WebSocket } from 'ws'
import { CloseCode, type CloseCodeInfo } from '../../lib/errors.js'
import type { MatchEvents } from '../broadcast/index.js'
import type { EarlyFrameVerdict } from '../rate-limit/limiter.js'
import { Connection, type Transport } from './connection.js'
import type { WebsocketOptions } from './options.js'
import { Rooms } from './rooms.js'

/** Every open room connection of this instance. */
export interface ConnectionRegistry {
  /** Open connections. */
  readonly size: number
  /** The per-match fan-out of this instance. */
  readonly rooms: Rooms
  /** Wraps a freshly upgraded socket (over `transport`, its TCP socket); it leaves the registry when it closes. */
  open (socket: WebSocket, transport: Transport, log: FastifyBaseLogger): Connection
  /** Closes every connection with `info` and resolves once all are closed. */
  closeAll (info: CloseCodeInfo): Promise<void>
}

export function createRegistry (events: MatchEvents, options: WebsocketOptions, early?: EarlyFrameVerdict): ConnectionRegistry & { stop (): void } {
  const connections = new Set<Connection>()
  const rooms = new Rooms(events)
  let heartbeat: NodeJS.Timeout | undefined
  if (options.heartbeat.intervalMs > 0) {
    heartbeat = setInterval(() => {
      for (const conn of connections) {
        if (!conn.alive) {
          conn.close(CloseCode.heartbeatTimeout)
          continue
        }
        conn.alive = false
        conn.socket.ping()
      }
    }, options.heartbeat.intervalMs)
    heartbeat.unref()
  }
  return {
    rooms,
    get size () { return connections.size },
    open (socket, transport, log) {
      const conn = new Connection(socket, transport, log, options.closeGraceMs, options.backpressure, early)
      connections.add(conn)
      conn.onClose(() => connections.delete(conn))
      return conn
    },
    async closeAll (info) {
      const closing = [...connections].map((conn) => {
        conn.close(info)
        return conn.whenClosed()
      })
      await Promise.all(closing)
    },
    stop () { clearInterval(heartbeat) }
  }
}
