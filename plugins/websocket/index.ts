import fastifyWebsocket from '@fastify/websocket'
import type { FastifyInstance, FastifyPluginAsync, FastifyRequest } from 'fastify'
import type { WebSocket } from 'ws'
import fp from 'fastify-plugin'
import { CloseCode, ForbiddenError, InvalidOptionsError } from '../../lib/errors.js'
import { namespace } from '../../lib/namespace.js'
import { parseOptions, type OptionsInput } from '../../lib/options.js'
import { SUBPROTOCOL } from '../auth/index.js'
import { WebsocketOptions } from './options.js'
import { createRegistry, type ConnectionRegistry } from './registry.js'

declare module '../../lib/namespace.js' {
  interface MatchcastNamespace {
    /** matchcast-websocket: every open room connection of this instance. */
    connections: ConnectionRegistry
  }
}

/**
 * Errors of an upgraded socket. A frame the peer got wrong (`ws` codes `WS_ERR_*`: invalid UTF-8,
 * protocol violation, too large, too fragmented) is the peer's fault: `ws` has already sent the
 * close (1007, 1002, 1009, 1008), so it is logged at info and the peer gets `closeGraceMs` to finish
 * the closing handshake. Anything else (a route handler that threw) is a server error.
 */
export function socketErrorHandler (closeGraceMs: number) {
  return function onSocketError (err: Error & { code?: unknown }, socket: WebSocket, request: FastifyRequest): void {
    if (typeof err.code === 'string' && err.code.startsWith('WS_ERR_')) {
      request.log.info({ err }, 'websocket peer sent a frame the transport refuses; closed')
      const cut = setTimeout(() => socket.terminate(), closeGraceMs)
      cut.unref()
      socket.once('close', () => clearTimeout(cut))
      return
    }
    request.log.error({ err }, 'websocket handler failed')
    socket.terminate()
  }
}

/** The subprotocol answer: `matchcast.v1` when offered, never the `bearer.<jwt>` entry. */
export function selectProtocol (protocols: Set<string>): string | false {
  return protocols.has(SUBPROTOCOL) ? SUBPROTOCOL : false
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
  const registry = createRegistry(app.matchcast.events, options, namespace(app).limiter?.earlyFrame)
  warnWithoutSocketTimeouts(app)
  namespace(app).connections = registry

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
      errorHandler: socketErrorHandler(options.closeGraceMs),
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
  dependencies: ['matchcast-broadcast'],
  decorators: {}
})
export default matchcastWebsocket
export * from './options.js'
export type { ConnectionRegistry } from './registry.js'
