import { StoreTimeoutError, type StoreTimeout } from '../../lib/errors.js'
import { Deadlines } from '../../lib/timeout.js'
import type { Store } from './store.js'

/**
 * `store` with every call bounded by `timeoutMs`: a call that has not settled by then rejects with
 * `MATCHCAST_ERR_STORE_TIMEOUT` (503), so a stalled database cannot hold sockets and requests.
 * The error's `pending` is the call itself, still running (a write may yet apply). Every method
 * of the store is bounded, whatever the port grows to; `close()` is not. `deadlines` keeps the
 * timer (its owner clears it on close).
 */
export function withStoreTimeout (store: Store, timeoutMs: number, deadlines = new Deadlines(timeoutMs)): Store {
  // One bounded wrapper per method, made at its first use; it calls the method the store has at
  // the time of the call (a test may replace one).
  const bounded = new Map<PropertyKey, (...args: unknown[]) => Promise<unknown>>()
  return new Proxy(store, {
    get (target, name, receiver) {
      const value: unknown = Reflect.get(target, name, receiver)
      if (typeof value !== 'function' || name === 'close') return value
      let wrapper = bounded.get(name)
      if (wrapper === undefined) {
        wrapper = (...args: unknown[]) => {
          const work = Promise.resolve((Reflect.get(target, name, receiver) as (...a: unknown[]) => unknown).apply(target, args))
          return deadlines.bound(work, () => Object.assign(
            new StoreTimeoutError(`store.${String(name)} did not answer within ${timeoutMs} ms`), { pending: work }) satisfies StoreTimeout)
        }
        bounded.set(name, wrapper)
      }
      return wrapper
    }
  })
}
