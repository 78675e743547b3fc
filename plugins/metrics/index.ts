import type { IncomingMessage } from 'node:http'
import type {} from '@fastify/websocket'
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { Counter, Gauge, Histogram, Registry } from 'prom-client'
import type { WebSocket } from 'ws'
import { InvalidOptionsError } from '../../lib/errors.js'
import { namespace } from '../../lib/namespace.js'
import { closedWith } from '../websocket/connection.js'

/** Seconds; HTTP latency buckets from 1 ms to 5 s. */
export const HTTP_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]

export interface MetricsOptions {
  /**
   * The prom-client registry matchcast's metrics are registered in (the host's, say): they are
   * removed from it on close, the host's own metrics are left alone.
   * @default a registry of matchcast's own (never prom-client's global one)
   */
  registry?: Registry
}

/** `app.matchcast.metrics`: the registry holding matchcast's series, and the hook that times its HTTP routes. */
export interface MatchcastMetrics {
  readonly registry: Registry
  /** An `onResponse` hook: times a request in `matchcast_http_request_duration_seconds` (matchcast adds it to its own routes only). */
  observeHttp (request: FastifyRequest, reply: FastifyReply): Promise<void>
}

declare module '../../lib/namespace.js' {
  interface MatchcastNamespace {
    /** matchcast-metrics */
    metrics: MatchcastMetrics
  }
}

/** What leads every serialized server frame: its `type`. */
const TYPE = /^\{"type":"([a-z_]{1,32})"/

/**
 * The `type` of a serialized server frame, for the frame counters: a string, or the UTF-8 bytes a
 * room encoded once for all its sockets (sent as a text frame; the type is ASCII, so its first
 * bytes are enough).
 */
export function frameType (data: unknown): string {
  const head = typeof data === 'string' ? data : Buffer.isBuffer(data) ? data.toString('latin1', 0, 48) : ''
  return TYPE.exec(head)?.[1] ?? 'other'
}

type Send = WebSocket['send']

/** Every series matchcast registers: removed from a host's registry on close. */
const NAMES = ['matchcast_connections', 'matchcast_connections_opened_total', 'matchcast_frames_received_total', 'matchcast_frames_sent_total',
  'matchcast_ws_close_total', 'matchcast_batch_flushes_total', 'matchcast_batch_events_total', 'matchcast_http_request_duration_seconds'] as const

const plugin: FastifyPluginAsync<MetricsOptions> = async (app, options) => {
  // Duck-typed: the host's prom-client may be another copy than matchcast's.
  if (options.registry !== undefined && typeof (options.registry as Partial<Registry>).registerMetric !== 'function') throw new InvalidOptionsError('metrics.registry: must be a prom-client Registry')
  const owned = options.registry === undefined
  const registry = options.registry ?? new Registry()
  const ns = namespace(app)
  // eslint-disable-next-line no-new -- a collected gauge registers itself and is read on scrape
  new Gauge({
    name: NAMES[0],
    help: 'Open room connections on this instance.',
    registers: [registry],
    collect () { this.set(ns.connections?.size ?? 0) }
  })
  const opened = new Counter({ name: NAMES[1], help: 'WebSocket upgrades accepted.', registers: [registry] })
  const framesIn = new Counter({ name: NAMES[2], help: 'WebSocket frames received from clients.', registers: [registry] })
  // Frames sent are counted in plain numbers, one per type, and handed over on scrape: a room sends
  // each flush to every socket, and a labelled `inc` hashes its labels every time.
  const sentByType = new Map<string, { n: number }>()
  // eslint-disable-next-line no-new -- a collected counter registers itself and is read on scrape
  new Counter({
    name: NAMES[3],
    help: 'WebSocket frames sent to clients, by frame type.',
    labelNames: ['type'] as const,
    registers: [registry],
    collect () {
      for (const [type, count] of sentByType) {
        if (count.n > 0) this.inc({ type }, count.n)
        count.n = 0
      }
    }
  })
  const closes = new Counter({ name: NAMES[4], help: 'Closed WebSocket connections, by close code.', labelNames: ['code'] as const, registers: [registry] })
  // Flushes are counted by the broadcaster itself (a plain counter on its hot path); read on scrape.
  let seen = { flushes: 0, events: 0 }
  const syncFlushes = () => {
    const now = ns.events?.stats ?? seen
    flushes.inc(now.flushes - seen.flushes)
    flushedEvents.inc(now.events - seen.events)
    seen = { ...now }
  }
  const flushes = new Counter({ name: NAMES[5], help: 'Batch windows flushed (one per match and window).', registers: [registry], collect: syncFlushes })
  const flushedEvents = new Counter({ name: NAMES[6], help: 'Events published by batch flushes.', registers: [registry] })
  const http = new Histogram({
    name: NAMES[7],
    help: 'HTTP request latency, by method, route and status code.',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: HTTP_BUCKETS,
    registers: [registry]
  })

  ns.metrics = {
    registry,
    // Only ever a hook of matchcast's own routes: a request it sees always matched one.
    async observeHttp (request, reply) {
      http.observe({ method: request.method, route: request.routeOptions.url!, status_code: String(reply.statusCode) }, reply.elapsedTime / 1000)
    }
  }

  // A room sends the same bytes to every socket: their type and counter are looked up once, not
  // once per socket.
  let lastFrame: unknown
  let lastCount = { n: 0 }
  const countSent = (data: unknown) => {
    if (data !== lastFrame) {
      lastFrame = data
      const type = frameType(data)
      let count = sentByType.get(type)
      if (count === undefined) sentByType.set(type, count = { n: 0 })
      lastCount = count
    }
    lastCount.n++
  }
  // Frames are observed on the sockets themselves, so the room code needs no metrics calls.
  const observe = (socket: WebSocket, _request: IncomingMessage) => {
    opened.inc()
    socket.on('message', () => framesIn.inc())
    // A socket the server closed counts under the server's code, also when it had to be cut (1006).
    socket.once('close', (code: number) => closes.inc({ code: String(closedWith(socket) ?? code) }))
    const send = socket.send as (this: WebSocket, data: unknown, options?: unknown, cb?: unknown) => void
    // ws's own parameters, named (no rest array per frame): every socket of a room calls it per flush.
    socket.send = function (this: WebSocket, data: unknown, options?: unknown, cb?: unknown) {
      countSent(data)
      send.call(this, data, options, cb)
    } as Send
  }
  app.addHook('onReady', async () => {
    if (app.hasDecorator('websocketServer')) app.websocketServer.on('connection', observe)
  })
  app.addHook('onClose', async () => {
    if (app.hasDecorator('websocketServer')) app.websocketServer.off('connection', observe)
    if (owned) registry.clear()
    else for (const name of NAMES) registry.removeSingleMetric(name)
  })
}

/** Prometheus metrics of this app (`app.matchcast.metrics`): connections, frames, close codes, batch flushes, HTTP latency. */
export const matchcastMetrics = fp(plugin, { name: 'matchcast-metrics', fastify: '5.x', dependencies: [], decorators: {} })
export default matchcastMetrics
