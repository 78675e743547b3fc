import type { IncomingMessage } from 'node:http'
import type {} from '@fastify/websocket'
import type { FastifyPluginAsync } from 'fastify'
import fp from 'fastify-plugin'
import { Counter, Gauge, Histogram, Registry } from 'prom-client'
import type { WebSocket } from 'ws'
import { namespace } from '../../lib/namespace.js'
import { closedWith } from '../websocket/connection.js'

/** Seconds; HTTP latency buckets from 1 ms to 5 s. */
export const HTTP_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]

/** `app.matchcast.metrics`: this app's Prometheus registry (never the global one) and its series. */
export interface MatchcastMetrics {
  readonly registry: Registry
}

declare module '../../lib/namespace.js' {
  interface MatchcastNamespace {
    /** matchcast-metrics */
    metrics: MatchcastMetrics
  }
}

/** The `type` of a serialized server frame (`{"type":"…"` leads every frame), for the frame counters. */
export function frameType (data: unknown): string {
  if (typeof data !== 'string') return 'binary'
  return /^\{"type":"([a-z_]{1,32})"/.exec(data)?.[1] ?? 'other'
}

type Send = WebSocket['send']

const plugin: FastifyPluginAsync = async (app) => {
  const registry = new Registry()
  const ns = namespace(app)
  // eslint-disable-next-line no-new -- a collected gauge registers itself and is read on scrape
  new Gauge({
    name: 'matchcast_connections',
    help: 'Open room connections on this instance.',
    registers: [registry],
    collect () { this.set(ns.connections?.size ?? 0) }
  })
  const opened = new Counter({ name: 'matchcast_connections_opened_total', help: 'WebSocket upgrades accepted.', registers: [registry] })
  const framesIn = new Counter({ name: 'matchcast_frames_received_total', help: 'WebSocket frames received from clients.', registers: [registry] })
  const framesOut = new Counter({ name: 'matchcast_frames_sent_total', help: 'WebSocket frames sent to clients, by frame type.', labelNames: ['type'] as const, registers: [registry] })
  const closes = new Counter({ name: 'matchcast_ws_close_total', help: 'Closed WebSocket connections, by close code.', labelNames: ['code'] as const, registers: [registry] })
  // Flushes are counted by the broadcaster itself (a plain counter on its hot path); read on scrape.
  let seen = { flushes: 0, events: 0 }
  const syncFlushes = () => {
    const now = ns.events?.stats ?? seen
    flushes.inc(now.flushes - seen.flushes)
    flushedEvents.inc(now.events - seen.events)
    seen = { ...now }
  }
  const flushes = new Counter({ name: 'matchcast_batch_flushes_total', help: 'Batch windows flushed (one per match and window).', registers: [registry], collect: syncFlushes })
  const flushedEvents = new Counter({ name: 'matchcast_batch_events_total', help: 'Events published by batch flushes.', registers: [registry] })
  const http = new Histogram({
    name: 'matchcast_http_request_duration_seconds',
    help: 'HTTP request latency, by method, route and status code.',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: HTTP_BUCKETS,
    registers: [registry]
  })

  ns.metrics = { registry }

  app.addHook('onResponse', async (request, reply) => {
    http.observe({ method: request.method, route: request.routeOptions.url ?? 'unmatched', status_code: String(reply.statusCode) }, reply.elapsedTime / 1000)
  })

  // One child counter per frame type, looked up once: a send to every socket of a room must not
  // hash a label object each time.
  const sentByType = new Map<string, { inc (): void }>()
  const countSent = (type: string) => {
    let child = sentByType.get(type)
    if (child === undefined) sentByType.set(type, child = framesOut.labels(type))
    child.inc()
  }
  // A room sends one shared string to every socket: its type is read once, not once per socket.
  let lastFrame: unknown
  let lastType = ''
  const typeOf = (data: unknown) => {
    if (data !== lastFrame) {
      lastFrame = data
      lastType = frameType(data)
    }
    return lastType
  }
  // Frames are observed on the sockets themselves, so the room code needs no metrics calls.
  const observe = (socket: WebSocket, _request: IncomingMessage) => {
    opened.inc()
    socket.on('message', () => framesIn.inc())
    // A socket the server closed counts under the server's code, also when it had to be cut (1006).
    socket.once('close', (code: number) => closes.inc({ code: String(closedWith(socket) ?? code) }))
    const send: Send = socket.send
    socket.send = function (this: WebSocket, data: Parameters<Send>[0], ...rest: unknown[]) {
      countSent(typeOf(data))
      return (send as (...args: unknown[]) => void).call(this, data, ...rest)
    } as Send
  }
  app.addHook('onReady', async () => {
    if (app.hasDecorator('websocketServer')) app.websocketServer.on('connection', observe)
  })
  app.addHook('onClose', async () => {
    if (app.hasDecorator('websocketServer')) app.websocketServer.off('connection', observe)
    registry.clear()
  })
}

/** Prometheus metrics of this app (`app.matchcast.metrics`): connections, frames, close codes, batch flushes, HTTP latency. */
export const matchcastMetrics = fp(plugin, { name: 'matchcast-metrics', fastify: '5.x', dependencies: [], decorators: {} })
export default matchcastMetrics
