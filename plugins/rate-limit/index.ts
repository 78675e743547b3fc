import type { FastifyPluginAsync } from 'fastify'
import fp from 'fastify-plugin'
import { Type, type Static } from 'typebox'
import { namespace } from '../namespace.js'
import { parseOptions, type OptionsInput } from '../options.js'
import { MemoryLimiterStore } from './memory-store.js'
import type { LimiterStore } from './store.js'

export const DEFAULT_MAX_CONNECTIONS_PER_USER = 5
export const DEFAULT_MESSAGES_PER_SECOND = 10
export const DEFAULT_BURST = 20
export const DEFAULT_MAX_PAYLOAD_BYTES = 16 * 1024

export const RateLimitOptions = Type.Object({
  /** Open room connections a user may hold; the next is closed 4008. @default 5 */
  maxConnectionsPerUser: Type.Integer({ minimum: 1, default: DEFAULT_MAX_CONNECTIONS_PER_USER }),
  /** Token-bucket refill rate of a user's messages, over all their sockets; over it closes 4009. @default 10 */
  messagesPerSecond: Type.Number({ exclusiveMinimum: 0, default: DEFAULT_MESSAGES_PER_SECOND }),
  /** Token-bucket size: messages a user may send at once. @default 20 */
  burst: Type.Integer({ minimum: 1, default: DEFAULT_BURST }),
  /** Largest frame accepted, in bytes (a frame of exactly this size is accepted); larger closes 4010. @default 16384 */
  maxPayloadBytes: Type.Integer({ minimum: 1, default: DEFAULT_MAX_PAYLOAD_BYTES })
}, { additionalProperties: false })
export type RateLimitOptions = Static<typeof RateLimitOptions>

/** The outcome of a message-rate check: `allowed` means under the limit. */
export interface CheckResult {
  allowed: boolean
  remaining: number
  resetMs: number
  key: string
}

/** `app.matchcast.limiter`: never throws; answers whether a user is within its limits. */
export interface Limiter {
  readonly options: RateLimitOptions
  acquireConnection (userId: string, connectionId: string): Promise<boolean>
  releaseConnection (userId: string, connectionId: string): Promise<void>
  check (userId: string): Promise<CheckResult>
}

export function createLimiter (options: RateLimitOptions, store: LimiterStore): Limiter {
  return {
    options,
    acquireConnection: (userId, connectionId) => store.acquire(userId, connectionId, options.maxConnectionsPerUser),
    releaseConnection: (userId, connectionId) => store.release(userId, connectionId),
    async check (userId) {
      const result = await store.take(userId, options.messagesPerSecond, options.burst)
      return { ...result, key: userId }
    }
  }
}

const plugin: FastifyPluginAsync<OptionsInput<RateLimitOptions>> = async (app, rawOptions) => {
  const options = parseOptions(RateLimitOptions, rawOptions, 'rateLimit')
  const store = new MemoryLimiterStore()
  namespace(app).limiter = createLimiter(options, store)
  app.addHook('onClose', () => store.close())
}

/** Per-user WebSocket limits: connections (4008), message rate (4009), payload size (4010). */
export const matchcastRateLimit = fp(plugin, { name: 'matchcast-rate-limit', fastify: '5.x' })
export default matchcastRateLimit
