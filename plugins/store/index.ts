import type { FastifyPluginAsync } from 'fastify'
import fp from 'fastify-plugin'
import { InvalidOptionsError } from '../errors.js'
import { namespace } from '../namespace.js'
import { memoryStore } from './memory-store.js'
import type { Store } from './store.js'

export interface StoreOptions {
  /** The store; @default an empty `memoryStore()` */
  store?: Store
  /** Close a store that was passed in when the app closes. @default false */
  closeStore?: boolean
}

const STORE_METHODS = ['getTournament', 'getRole', 'getMatch', 'listMatches', 'updateMatch', 'completeMatch', 'ping', 'close'] as const

function isStore (value: unknown): value is Store {
  return typeof value === 'object' && value !== null &&
    STORE_METHODS.every((m) => typeof (value as Record<string, unknown>)[m] === 'function')
}

const plugin: FastifyPluginAsync<StoreOptions> = async (app, options) => {
  if (options.store !== undefined && !isStore(options.store)) {
    throw new InvalidOptionsError('store: must implement the Store interface (getMatch, updateMatch, …)')
  }
  const store = options.store ?? memoryStore()
  namespace(app).store = store
  // Resource ownership: a store we made, we close; one passed in, only when asked to.
  if (options.store === undefined || options.closeStore === true) app.addHook('onClose', () => store.close())
}

/** The port to the host's data (`app.matchcast.store`). */
export const matchcastStore = fp(plugin, { name: 'matchcast-store', fastify: '5.x' })
export default matchcastStore
