import type { FastifyRateLimitStore } from '@fastify/rate-limit'
import type { LimiterStore } from './store.js'

/**
 * @fastify/rate-limit's store over ours, so HTTP limits share Redis, and its fallback, with the
 * WebSocket limits (its own `redis` option would make every limited route fail while Redis does).
 */
export function httpStore (store: LimiterStore) {
  return class HttpRateLimitStore implements FastifyRateLimitStore {
    readonly #scope: string
    constructor (_params: unknown, scope = 'all') {
      this.#scope = scope
    }

    incr (key: string, callback: (error: Error | null, result?: { current: number, ttl: number }) => void, timeWindow: number): void {
      store.hit(`http:${this.#scope}:${key}`, timeWindow).then(({ count, ttlMs }) => callback(null, { current: count, ttl: ttlMs }), callback)
    }

    child (params: Parameters<FastifyRateLimitStore['child']>[0]): FastifyRateLimitStore {
      // At run time @fastify/rate-limit passes the route's merged limit options, with the route as
      // `routeInfo` (its typings say the route itself): one count per route.
      const { method, url } = (params as unknown as { routeInfo: { method: string | string[], url: string } }).routeInfo
      return new HttpRateLimitStore(undefined, `${String(method)}${url}`)
    }
  }
}
