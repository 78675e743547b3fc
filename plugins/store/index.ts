import type { FastifyPluginAsync } from 'fastify'
import fp from 'fastify-plugin'
import type pg from 'pg'
import { Type } from 'typebox'
import { InvalidOptionsError } from '../../lib/errors.js'
import { namespace } from '../../lib/namespace.js'
import { parseOptions } from '../../lib/options.js'
import { Deadlines } from '../../lib/timeout.js'
import { memoryStore } from './memory-store.js'
import { postgresStore } from './postgres-store.js'
import type { Store } from './store.js'
import { withStoreTimeout } from './timeout.js'

export const DEFAULT_STORE_TIMEOUT_MS = 5000

declare module '../../lib/namespace.js' {
  interface MatchcastNamespace {
    /** matchcast-store */
    store: Store
    /**
     * matchcast-store: the same store with every call bounded by `timeoutMs` (rejecting with
     * `MATCHCAST_ERR_STORE_TIMEOUT`); what matchcast's rooms and routes call.
     */
    timedStore: Store
  }
}

const TimeoutOptions = Type.Object({
  /** How long a store call may take before it fails with `MATCHCAST_ERR_STORE_TIMEOUT` (503). @default 5000 */
  timeoutMs: Type.Integer({ minimum: 1, default: DEFAULT_STORE_TIMEOUT_MS })
}, { additionalProperties: false })

export interface StoreOptions {
  /** The store; @default an empty `memoryStore()` */
  store?: Store
  /**
   * PostgreSQL instead of `store`: a `postgres://` URL (the pool made for it is ended when the app
   * closes) or a `pg.Pool` of yours (left open). Tables go to the `matchcast` schema, migrated at start.
   */
  database?: string | pg.Pool
  /** Close a store that was passed in when the app closes. @default false */
  closeStore?: boolean
  /**
   * How long a store call on a request or admission path may take: one that has not answered by
   * then fails with `MATCHCAST_ERR_STORE_TIMEOUT` (HTTP 503, WebSocket admission close 1011). @default 5000
   */
  timeoutMs?: number
}

const STORE_METHODS = ['getTournament', 'getRole', 'getMatch', 'listMatches', 'updateMatch', 'completeMatch',
  'pendingEvents', 'claimEvents', 'markPublished', 'ping', 'close'] as const

function isStore (value: unknown): value is Store {
  return typeof value === 'object' && value !== null &&
    STORE_METHODS.every((m) => typeof (value as Record<string, unknown>)[m] === 'function')
}

/** Optional capability: a store that prepares itself (e.g. runs migrations) before use. */
function needsReady (store: Store): store is Store & { ready (): Promise<void> } {
  return typeof (store as { ready?: unknown }).ready === 'function'
}

function isPool (value: unknown): value is pg.Pool {
  return typeof value === 'object' && value !== null && typeof (value as pg.Pool).connect === 'function' && typeof (value as pg.Pool).query === 'function'
}

const plugin: FastifyPluginAsync<StoreOptions> = async (app, options) => {
  const { timeoutMs } = parseOptions(TimeoutOptions, options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }, 'store')
  if (options.store !== undefined && !isStore(options.store)) {
    throw new InvalidOptionsError('store: must implement the Store interface (getMatch, updateMatch, pendingEvents, …)')
  }
  const { database } = options
  if (database !== undefined && options.store !== undefined) throw new InvalidOptionsError('database: give either store or database, not both')
  if (database !== undefined && !(typeof database === 'string' ? /^postgres(ql)?:\/\//.test(database) : isPool(database))) {
    throw new InvalidOptionsError('database: must be a postgres:// URL or a pg.Pool')
  }
  const onError = (err: Error) => app.log.error({ err }, 'matchcast: PostgreSQL connection error')
  const store = options.store ?? (database === undefined
    ? memoryStore()
    : postgresStore(typeof database === 'string' ? { connectionString: database, onError } : { pool: database }))
  if (needsReady(store)) {
    try {
      await store.ready()
    } catch (err) {
      if (options.store === undefined) await store.close()
      throw err
    }
  }
  namespace(app).store = store
  const deadlines = new Deadlines(timeoutMs)
  namespace(app).timedStore = withStoreTimeout(store, timeoutMs, deadlines)
  // The deadline timer may still be on after the last call (lib/timeout.ts): it stops with the app.
  app.addHook('onClose', async () => deadlines.clear())
  // Resource ownership: a store we made, we close; one passed in, only when asked to.
  if (options.store === undefined || options.closeStore === true) app.addHook('onClose', () => store.close())
}

/** The port to the host's data (`app.matchcast.store`). */
export const matchcastStore = fp(plugin, { name: 'matchcast-store', fastify: '5.x', dependencies: [], decorators: {} })
export default matchcastStore
