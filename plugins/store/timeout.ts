import { StoreTimeoutError, type StoreTimeout } from '../../lib/errors.js'
import { within } from '../../lib/timeout.js'
import type { Store } from './store.js'

/**
 * `store` with every call bounded by `timeoutMs`: a call that has not settled by then rejects with
 * `MATCHCAST_ERR_STORE_TIMEOUT` (503), so a stalled database cannot hold sockets and requests.
 * The error's `pending` is the call itself, still running (a write may yet apply). Every method
 * of the store is bounded, whatever the port grows to; `close()` is not.
 */
export function withStoreTimeout (store: Store, timeoutMs: number): Store {
  return new Proxy(store, {
    get (target, name, receiver) {
      const value: unknown = Reflect.get(target, name, receiver)
      if (typeof value !== 'function' || name === 'close') return value
      return (...args: unknown[]) => {
        const work = Promise.resolve(value.apply(target, args))
        return within(timeoutMs, work, () => Object.assign(
          new StoreTimeoutError(`store.${String(name)} did not answer within ${timeoutMs} ms`), { pending: work }) satisfies StoreTimeout)
      }
    }
  })
}
