import fastifyRedis from '@fastify/redis'
import type { FastifyPluginAsync } from 'fastify'
import fp from 'fastify-plugin'
import { Redis } from 'ioredis'
import { InvalidOptionsError } from '../../lib/errors.js'
import { namespace } from '../../lib/namespace.js'

export const DEFAULT_KEY_PREFIX = 'matchcast'
export const DEFAULT_COMMAND_TIMEOUT_MS = 500

export interface RedisOptions {
  /** `redis://…` URL, or an ioredis client (not closed by matchcast unless `closeClient`). */
  redis: string | Redis
  /** Prefix of every key and channel: `${prefix}:${area}:${id}`. @default 'matchcast' */
  keyPrefix?: string
  /** A command that has not answered in this time fails (so nothing waits long on a dead Redis). @default 500 */
  commandTimeoutMs?: number
  /** Close a client that was passed in when the app closes. @default false */
  closeClient?: boolean
}

/** `app.matchcast.redis`: the shared command connection, and dedicated subscriber connections. */
export interface MatchcastRedis {
  readonly client: Redis
  readonly prefix: string
  /** The longest a command may take (`commandTimeoutMs`); the broker's reads keep to it on a client passed in too. */
  readonly commandTimeoutMs: number
  /** A key or channel name under the prefix: `${prefix}:${area}:${id}`. */
  key (area: string, id: string): string
  /** A new connection with the client's settings (e.g. for SUBSCRIBE); closed when the app closes. */
  duplicate (): Redis
}

declare module '../../lib/namespace.js' {
  interface MatchcastNamespace {
    /** matchcast-redis: present only when `redis` is configured. */
    redis?: MatchcastRedis
  }
}

/**
 * Fail-fast settings: commands are not queued while disconnected and fail after a short timeout,
 * so callers can fall back instead of hanging; reconnects keep being tried, at most 1 s apart.
 */
export function clientOptions (commandTimeoutMs: number) {
  return {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2000,
    commandTimeout: commandTimeoutMs,
    retryStrategy: (times: number) => Math.min(times * 100, 1000)
  }
}

const plugin: FastifyPluginAsync<RedisOptions> = async (app, options) => {
  const prefix = options.keyPrefix ?? DEFAULT_KEY_PREFIX
  if (typeof prefix !== 'string' || !/^[\w.-]{1,64}$/.test(prefix)) throw new InvalidOptionsError('redis.keyPrefix: 1-64 of [A-Za-z0-9_.-]')
  const timeout = options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS
  if (!Number.isInteger(timeout) || timeout < 1) throw new InvalidOptionsError('redis.commandTimeoutMs: must be a positive integer')
  let client: Redis
  let owned: boolean
  if (typeof options.redis === 'string') {
    if (!/^rediss?:\/\//.test(options.redis)) throw new InvalidOptionsError('redis: must be a redis:// or rediss:// URL, or an ioredis client')
    client = new Redis(options.redis, clientOptions(timeout))
    owned = true
  } else if (options.redis instanceof Redis) {
    client = options.redis
    owned = options.closeClient === true
  } else {
    throw new InvalidOptionsError('redis: must be a redis:// or rediss:// URL, or an ioredis client')
  }
  // One warning per transition, not one per failed reconnect attempt.
  let healthy = true
  const onError = (err: Error) => {
    if (!healthy) return
    healthy = false
    app.log.warn({ err }, 'matchcast: Redis connection failed; retrying')
  }
  const onReady = () => {
    if (healthy) return
    healthy = true
    app.log.info('matchcast: Redis connection restored')
  }
  client.on('error', onError)
  client.on('ready', onReady)
  // We close the client ourselves: @fastify/redis's `quit()` rejects while Redis is unreachable,
  // which would make `app.close()` fail exactly when it matters.
  await app.register(fastifyRedis, { client, namespace: 'matchcast', closeClient: false })

  const duplicates = new Set<Redis>()
  namespace(app).redis = {
    client,
    prefix,
    commandTimeoutMs: timeout,
    key: (area, id) => `${prefix}:${area}:${id}`,
    duplicate () {
      const copy = client.duplicate()
      copy.on('error', onError)
      duplicates.add(copy)
      return copy
    }
  }
  app.addHook('onClose', async () => {
    client.off('error', onError)
    client.off('ready', onReady)
    const connections = owned ? [client, ...duplicates] : [...duplicates]
    await Promise.all(connections.map((c) => c.quit().catch(() => c.disconnect())))
  })
}

/** The Redis connection matchcast shares between its broker and its limiter (via @fastify/redis). */
export const matchcastRedis = fp(plugin, { name: 'matchcast-redis', fastify: '5.x', dependencies: [], decorators: {} })
export default matchcastRedis
