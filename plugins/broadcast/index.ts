import type { FastifyPluginAsync } from 'fastify'
import fp from 'fastify-plugin'
import { Type, type Static } from 'typebox'
import { Compile } from 'typebox/compile'
import { Id } from '../../schemas/common.js'
import { PendingEvent, type MatchEvent } from '../../schemas/messages.js'
import { BrokerUnavailableError, InvalidOptionsError } from '../../lib/errors.js'
import { namespace } from '../../lib/namespace.js'
import { parseOptions, type OptionsInput } from '../../lib/options.js'
import { Batcher } from './batcher.js'
import type { Broker, EventHandler, ResyncHandler, StreamPosition } from './broker.js'
import { MemoryBroker } from './memory-broker.js'
import { RedisBroker, type BrokerHealth } from './redis-broker.js'
import { OutboxRelay } from './relay.js'
import { CONNECT_TIMEOUT_MS } from '../redis/index.js'

export const DEFAULT_WINDOW_MS = 50
export const DEFAULT_MAX_BATCH = 100
export const DEFAULT_HISTORY_SIZE = 1000
export const DEFAULT_HISTORY_TTL_MS = 5 * 60_000
export const DEFAULT_OUTBOX_LEASE_MS = 5000
export const DEFAULT_OUTBOX_SWEEP_INTERVAL_MS = 1000
export const DEFAULT_FINISHED_TTL_MS = 60 * 60_000
export const DEFAULT_IDLE_TTL_MS = 24 * 60 * 60_000

export const BroadcastOptions = Type.Object({
  batching: Type.Object({
    /** How long a match's events are collected before they are sent together; 0 sends each at once. @default 50 */
    windowMs: Type.Integer({ minimum: 0, maximum: 60_000, default: DEFAULT_WINDOW_MS }),
    /** A window flushes early once it holds this many events. @default 100 */
    maxBatch: Type.Integer({ minimum: 1, maximum: 10_000, default: DEFAULT_MAX_BATCH })
  }, { default: {}, additionalProperties: false }),
  history: Type.Object({
    /** Events kept per match for `?lastSeq=` resume. @default 1000 */
    size: Type.Integer({ minimum: 0, maximum: 1_000_000, default: DEFAULT_HISTORY_SIZE }),
    /** Events older than this are no longer replayed. @default 300000 (5 minutes) */
    ttlMs: Type.Integer({ minimum: 0, default: DEFAULT_HISTORY_TTL_MS }),
    /**
     * With Redis: a finished (completed or cancelled) match's sequence, epoch and history expire
     * this long after its last event; 0 keeps them. @default 3600000 (1 hour)
     */
    finishedTtlMs: Type.Integer({ minimum: 0, default: DEFAULT_FINISHED_TTL_MS }),
    /** With Redis: any other match's keys expire this long after its last event; 0 keeps them. @default 86400000 (24 hours) */
    idleTtlMs: Type.Integer({ minimum: 0, default: DEFAULT_IDLE_TTL_MS })
  }, { default: {}, additionalProperties: false }),
  outbox: Type.Object({
    /**
     * How long a committed event waiting in the outbox is its instance's to relay (and a claimed
     * one its claimer's) before any other instance may take it over: the longest an event of a
     * crashed instance waits, unless a room reconciles its match first. @default 5000
     */
    leaseMs: Type.Integer({ minimum: 50, maximum: 600_000, default: DEFAULT_OUTBOX_LEASE_MS }),
    /** How often each instance retries what it could not relay (Redis down) and claims expired entries. @default 1000 */
    sweepIntervalMs: Type.Integer({ minimum: 10, maximum: 600_000, default: DEFAULT_OUTBOX_SWEEP_INTERVAL_MS })
  }, { default: {}, additionalProperties: false })
}, { additionalProperties: false })
export type BroadcastOptions = Static<typeof BroadcastOptions>

/** The batching decorator, `app.matchcast.events`. */
export interface MatchEvents {
  /**
   * Queues an event of a match for the next flush of its window. Never throws: a malformed event
   * (or match id) is logged and dropped, never sent. `version` marks an event the store has in its
   * outbox (the match version its change produced): it is relayed by version and removed from the
   * outbox once sequenced; without it the event is sent at most once (lost if Redis is down).
   */
  emit (matchId: string, event: PendingEvent, version?: number): void
  /**
   * Receives the match's events as flushed, in seq order; `onResync` is called instead when some
   * cannot be delivered (see `Broker.subscribe`). Returns the unsubscribe function.
   */
  subscribe (matchId: string, handler: EventHandler, onResync?: ResyncHandler): () => void
  position (matchId: string): Promise<StreamPosition>
  /**
   * Brings the match's stream up to the store's `version` of the match, given the stream's
   * `position`: events the outbox still holds are relayed now (whoever committed them), or the
   * match starts a new epoch when the outbox cannot account for the difference. Resolves `true`
   * when it changed the stream, so the caller reads the position again; never rejects.
   */
  reconcile (matchId: string, position: StreamPosition, version: number): Promise<boolean>
  since (matchId: string, afterSeq: number, epoch: string): Promise<MatchEvent[] | undefined>
  /** Batches published by this instance, and the events in them, since it started (for metrics). */
  readonly stats: { readonly flushes: number, readonly events: number }
  /** Flushes every open window now; resolves when all flushes have been published. */
  flush (): Promise<void>
  /** With Redis: the subscriber connections (one per cluster shard in use) and the pub/sub traffic; `undefined` in memory. */
  health (): BrokerHealth | undefined
}

declare module '../../lib/namespace.js' {
  interface MatchcastNamespace {
    /** matchcast-broadcast: the batching decorator. */
    events: MatchEvents
  }
}

const checkEvent = Compile(PendingEvent)
const checkId = Compile(Id)

export interface EventsLog {
  debug (obj: object, msg: string): void
  warn (obj: object, msg: string): void
  error (obj: object, msg: string): void
}

/** Builds the batching decorator over a broker, relaying outbox events through `relay` when given. */
export function createMatchEvents (broker: Broker, batching: BroadcastOptions['batching'], log: EventsLog, relay?: OutboxRelay): MatchEvents {
  const stats = { flushes: 0, events: 0 }
  const batcher = new Batcher({
    ...batching,
    flush: async (matchId, events, versions) => {
      const sequenced = relay === undefined || versions === undefined
        ? await broker.publish(matchId, events)
        : await relay.flushWindow(matchId, events, versions)
      stats.flushes++
      stats.events += sequenced.length
    },
    onError: (err, matchId) => {
      // The broker warns once per outage; each batch it could not sequence is only a debug line.
      if (err instanceof BrokerUnavailableError) log.debug({ err, matchId }, 'match events not sequenced: broker unavailable')
      else log.error({ err, matchId }, 'publishing match events failed')
    }
  })
  return {
    emit (matchId, event, version) {
      if (!checkId.Check(matchId) || !checkEvent.Check(event) || (version !== undefined && !(Number.isSafeInteger(version) && version > 0))) {
        log.warn({ matchId, event, version }, 'dropped a malformed match event')
        return
      }
      batcher.add(matchId, event, relay === undefined ? undefined : version)
    },
    subscribe: (matchId, handler, onResync) => broker.subscribe(matchId, handler, onResync),
    position: (matchId) => broker.position(matchId),
    reconcile: async (matchId, position, version) => relay?.reconcile(matchId, position, version) ?? false,
    since: (matchId, afterSeq, epoch) => broker.since(matchId, afterSeq, epoch),
    flush: () => batcher.flushAll(),
    health: () => broker instanceof RedisBroker ? broker.health() : undefined,
    stats
  }
}

const plugin: FastifyPluginAsync<OptionsInput<BroadcastOptions>> = async (app, rawOptions) => {
  const options = parseOptions(BroadcastOptions, rawOptions, 'broadcast')
  const history = { historySize: options.history.size, historyTtlMs: options.history.ttlMs }
  // matchcast-redis is optional: when it was registered first, every instance shares the broker.
  const redis = namespace(app).redis
  const broker: Broker = redis === undefined
    ? new MemoryBroker(history)
    : new RedisBroker({
      ...history,
      finishedTtlMs: options.history.finishedTtlMs,
      idleTtlMs: options.history.idleTtlMs,
      client: redis.client,
      // One server: one subscriber connection. A cluster: one per shard, opened as channels need them.
      subscriber: redis.cluster ? (node) => redis.duplicate(node) : redis.duplicate(),
      prefix: redis.prefix,
      log: app.log,
      readTimeoutMs: redis.commandTimeoutMs
    })
  // Registered the other way round, this instance would silently keep its rooms to itself.
  app.addHook('onReady', async () => {
    if (redis === undefined && app.matchcast.redis !== undefined) {
      throw new InvalidOptionsError('redis: register matchcast-redis before matchcast-broadcast')
    }
    // Ready means hearing other instances: the subscriber connection is up (or Redis is reported down).
    if (broker instanceof RedisBroker) await broker.connected(CONNECT_TIMEOUT_MS)
  })
  // matchcast-store is optional too: when it was registered first, commands' events go through its outbox.
  const store = namespace(app).store
  const relay = store === undefined ? undefined : new OutboxRelay(broker, store, options.outbox, app.log)
  app.addHook('onReady', async () => {
    if (store === undefined && app.matchcast.store !== undefined) {
      throw new InvalidOptionsError('store: register matchcast-store before matchcast-broadcast')
    }
    relay?.start()
  })
  const events = createMatchEvents(broker, options.batching, app.log, relay)
  namespace(app).events = events
  // Pending windows are flushed in the websocket plugin's preClose, while sockets are still open.
  // What cannot be published now (Redis down) stays in the outbox for the next instance.
  app.addHook('onClose', async () => {
    await events.flush()
    await relay?.close()
    await broker.close()
  })
}

/**
 * Fan-out of match events: batching, sequencing, history. In memory (single instance) by default;
 * over Redis (every instance shares rooms) when matchcast-redis is registered before it. With
 * matchcast-store registered before it, events of commands are relayed from the store's outbox.
 */
export const matchcastBroadcast = fp(plugin, { name: 'matchcast-broadcast', fastify: '5.x', dependencies: [], decorators: {} })
export default matchcastBroadcast
