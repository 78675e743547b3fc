import type { FastifyPluginAsync } from 'fastify'
import fp from 'fastify-plugin'
import { Type, type Static } from 'typebox'
import { Compile } from 'typebox/compile'
import { Id } from '../../schemas/common.js'
import { PendingEvent, type MatchEvent } from '../../schemas/messages.js'
import { namespace } from '../namespace.js'
import { parseOptions, type OptionsInput } from '../options.js'
import { Batcher } from './batcher.js'
import type { Broker, EventHandler, StreamPosition } from './broker.js'
import { MemoryBroker } from './memory-broker.js'

export const DEFAULT_WINDOW_MS = 50
export const DEFAULT_MAX_BATCH = 100
export const DEFAULT_HISTORY_SIZE = 1000
export const DEFAULT_HISTORY_TTL_MS = 5 * 60_000

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
    ttlMs: Type.Integer({ minimum: 0, default: DEFAULT_HISTORY_TTL_MS })
  }, { default: {}, additionalProperties: false })
}, { additionalProperties: false })
export type BroadcastOptions = Static<typeof BroadcastOptions>

/** The batching decorator, `app.matchcast.events`. */
export interface MatchEvents {
  /**
   * Queues an event of a match for the next flush of its window. Never throws: a malformed event
   * (or match id) is logged and dropped, never sent.
   */
  emit (matchId: string, event: PendingEvent): void
  /** Receives the match's events as flushed, in seq order; returns the unsubscribe function. */
  subscribe (matchId: string, handler: EventHandler): () => void
  position (matchId: string): Promise<StreamPosition>
  since (matchId: string, afterSeq: number, epoch: string): Promise<MatchEvent[] | undefined>
  /** Flushes every open window now; resolves when all flushes have been published. */
  flush (): Promise<void>
}

const checkEvent = Compile(PendingEvent)
const checkId = Compile(Id)

/** Builds the batching decorator over a broker. */
export function createMatchEvents (broker: Broker, batching: BroadcastOptions['batching'], log: { warn (obj: object, msg: string): void, error (obj: object, msg: string): void }): MatchEvents {
  const batcher = new Batcher({
    ...batching,
    flush: async (matchId, events) => { await broker.publish(matchId, events) },
    onError: (err, matchId) => log.error({ err, matchId }, 'publishing match events failed')
  })
  return {
    emit (matchId, event) {
      if (!checkId.Check(matchId) || !checkEvent.Check(event)) {
        log.warn({ matchId, event }, 'dropped a malformed match event')
        return
      }
      batcher.add(matchId, event)
    },
    subscribe: (matchId, handler) => broker.subscribe(matchId, handler),
    position: (matchId) => broker.position(matchId),
    since: (matchId, afterSeq, epoch) => broker.since(matchId, afterSeq, epoch),
    flush: () => batcher.flushAll()
  }
}

const plugin: FastifyPluginAsync<OptionsInput<BroadcastOptions>> = async (app, rawOptions) => {
  const options = parseOptions(BroadcastOptions, rawOptions, 'broadcast')
  const broker: Broker = new MemoryBroker({ historySize: options.history.size, historyTtlMs: options.history.ttlMs })
  const events = createMatchEvents(broker, options.batching, app.log)
  namespace(app).events = events
  // Pending windows are flushed in the websocket plugin's preClose, while sockets are still open.
  app.addHook('onClose', async () => {
    await events.flush()
    await broker.close()
  })
}

/** Fan-out of match events: batching, sequencing, history. In memory (single instance) by default. */
export const matchcastBroadcast = fp(plugin, { name: 'matchcast-broadcast', fastify: '5.x' })
export default matchcastBroadcast
