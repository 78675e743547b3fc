import fastifyWebsocket from '@fastify/websocket'
import type { FastifyBaseLogger, FastifyInstance, FastifyPluginAsync } from 'fastify'
import fp from 'fastify-plugin'
import { Type, type Static } from 'typebox'
import type { WebSocket } from 'ws'
import { SUBPROTOCOL } from './auth.js'
import { Connection, DEFAULT_BACKPRESSURE, earlyFrameLimits } from './connection.js'
import { CloseCode, ForbiddenError, InvalidOptionsError, type CloseCodeInfo } from './errors.js'
import { namespace } from './namespace.js'
import { parseOptions, type OptionsInput } from './options.js'
import { Rooms } from './rooms.js'

export const DEFAULT_HEARTBEAT_INTERVAL_MS = 25_000
export const DEFAULT_CLOSE_GRACE_MS = 1000
export const DEFAULT_TRANSPORT_MAX_PAYLOAD = 1024 * 1024

export const WebsocketOptions = Type.Object({
  heartbeat: Type.Object({
    /** The server pings every socket this often; a socket that has not answered the previous ping is closed 4011. 0 turns heartbeats off. @default 25000 */
    intervalMs: Type.Integer({ minimum: 0, default: DEFAULT_HEARTBEAT_INTERVAL_MS })
  }, { default: {}, additionalProperties: false }),
  /** When set, an upgrade whose `Origin` is not listed is refused with HTTP 403 before the upgrade. @default unset (any origin) */
  allowedOrigins: Type.Optional(Type.Array(Type.String({ minLength: 1 }))),
  /** How long a closing peer has to finish the closing handshake before its socket is cut. @default 1000 */
  closeGraceMs: Type.Integer({ minimum: 1, default: DEFAULT_CLOSE_GRACE_MS }),
  /** The transport's hard frame cap (`ws` `maxPayload`, closes 1009); must be above `rateLimit.maxPayloadBytes`, so that limit answers 4010. @default 1048576, or twice `rateLimit.maxPayloadBytes` when that is not below it */
  transportMaxPayloadBytes: Type.Integer({ minimum: 1, default: DEFAULT_TRANSPORT_MAX_PAYLOAD }),
  /** Slow consumers, by a socket's send buffer (`bufferedAmount`). */
  backpressure: Type.Object({
    /** Above this many buffered bytes a socket skips non-terminal events, then gets a snapshot with `resync: true` once drained. @default 1048576 */
    highWaterMark: Type.Integer({ minimum: 1, default: DEFAULT_BACKPRESSURE.highWaterMark }),
    /** A socket above this many buffered bytes for `graceMs` is closed 4012 (not below `highWaterMark`). @default 4194304 */
    hardLimit: Type.Integer({ minimum: 1, default: DEFAULT_BACKPRESSURE.hardLimit }),
    /** How long a socket may stay above `hardLimit`. @default 5000 */
    graceMs: Type.Integer({ minimum: 1, default: DEFAULT_BACKPRESSURE.graceMs })
  }, { default: {}, additionalProperties: false })
}, { additionalProperties: false })
export type WebsocketOptions = Static<typeof WebsocketOptions>

/** Every open room connection of this instance. */
export interface ConnectionRegistry {
  /** Open connections. */
  readonly size: number
  /** The per-match fan-out of this instance. */
  readonly rooms: Rooms
  /** Wraps a freshly upgraded socket; it leaves the registry when it closes. */
  open (socket: WebSocket, log: FastifyBaseLogger): Connection
  /** Closes every connection with `info` and resolves once all are closed. */
  closeAll (info: CloseCodeInfo): Promise<void>
}

/** The subprotocol answer: `matchcast.v1` when offered, never the `bearer.<jwt>` entry. */
export function selectProtocol (protocols: Set<string>): string | false {
  return protocols.has(SUBPROTOCOL) ? SUBPROTOCOL : false
}

function createRegistry (app: FastifyInstance, options: WebsocketOptions): ConnectionRegistry & { stop (): void } {
  const early = earlyFrameLimits(namespace(app).limiter?.options)
  const connections = new Set<Connection>()
  const rooms = new Rooms(app.matchcast.events)
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
    open (socket, log) {
      const conn = new Connection(socket, log, options.closeGraceMs, options.backpressure, early)
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

/**
 * The host owns its server's settings; matchcast only says when sockets that never send a request
 * (or an upgrade) are left open until Node's `headersTimeout` (60 s, checked every 30 s): enough
 * such sockets exhaust the file descriptors before that.
 */
function warnWithoutSocketTimeouts (app: FastifyInstance): void {
  if (app.server.timeout > 0 || app.server.requestTimeout > 0) return
  app.log.warn('matchcast: the HTTP server has neither connectionTimeout nor requestTimeout, so idle sockets stay open ' +
    'until Node\'s headersTimeout (60 s); set Fastify\'s connectionTimeout (e.g. 10000) and requestTimeout (e.g. 30000)')
}

const plugin: FastifyPluginAsync<OptionsInput<WebsocketOptions>> = async (app, rawOptions) => {
  const options = parseOptions(WebsocketOptions, rawOptions, 'websocket')
  if (options.backpressure.hardLimit < options.backpressure.highWaterMark) {
    throw new InvalidOptionsError('websocket.backpressure.hardLimit: must not be below backpressure.highWaterMark')
  }
  // A frame over the limiter's size must reach the limiter (4010), not the transport cap (1009).
  const limit = namespace(app).limiter?.options.maxPayloadBytes ?? 0
  if (options.transportMaxPayloadBytes <= limit) {
    if (rawOptions.transportMaxPayloadBytes !== undefined) {
      throw new InvalidOptionsError(`websocket.transportMaxPayloadBytes: must be above rateLimit.maxPayloadBytes (${limit})`)
    }
    options.transportMaxPayloadBytes = 2 * limit
  }
  const registry = createRegistry(app, options)
  namespace(app).connections = registry
  warnWithoutSocketTimeouts(app)

  // Shutdown: pending batches flush while sockets are open, then every socket closes 1001.
  async function shutdown (this: FastifyInstance) {
    registry.stop()
    await app.matchcast.events.flush()
    await registry.closeAll(CloseCode.shutdown)
    await new Promise<void>((resolve) => this.websocketServer.close(() => resolve()))
  }

  // A host that registered @fastify/websocket itself keeps its preClose; ours then runs after it.
  if (app.hasDecorator('websocketServer')) {
    app.addHook('preClose', shutdown)
  } else {
    await app.register(fastifyWebsocket, {
      options: { handleProtocols: selectProtocol, maxPayload: options.transportMaxPayloadBytes, perMessageDeflate: false },
      preClose: shutdown
    })
  }

  if (options.allowedOrigins !== undefined) {
    const allowed = new Set(options.allowedOrigins)
    app.addHook('onRequest', async (request) => {
      if (request.ws && !allowed.has(request.headers.origin ?? '')) throw new ForbiddenError('origin not allowed')
    })
  }
}

/** WebSocket transport for the rooms: registry, heartbeat, origin check, graceful shutdown. */
export const matchcastWebsocket = fp(plugin, {
  name: 'matchcast-websocket',
  fastify: '5.x',
  dependencies: ['matchcast-broadcast']
})
export default matchcastWebsocket
