import type { FastifyPluginAsync } from 'fastify'
import fp from 'fastify-plugin'
import type { Cluster, Redis } from 'ioredis'
import { InvalidOptionsError } from '../../lib/errors.js'
import { namespace } from '../../lib/namespace.js'
import { DEFAULT_COMMAND_TIMEOUT_MS, DEFAULT_KEY_PREFIX, type NodeAddress, type RedisOptions } from './options.js'

export * from './options.js'

/** `app.matchcast.redis`: the shared command connection, and dedicated subscriber connections. */
export interface MatchcastRedis {
  /** The command connection: one server, or a cluster (which routes each command to its slot's primary). */
  readonly client: Redis | Cluster
  /** True on a Redis Cluster: match channels are then sharded (SPUBLISH / SSUBSCRIBE). */
  readonly cluster: boolean
  readonly prefix: string
  /** The longest a command may take (`commandTimeoutMs`); the broker's reads keep to it on a client passed in too. */
  readonly commandTimeoutMs: number
  /** A key or channel name under the prefix: `${prefix}:${area}:${id}`. */
  key (area: string, id: string): string
  /**
   * A new connection with the client's settings (e.g. for SUBSCRIBE), closed when the app closes:
   * to the same server, or on a cluster to the node `node` (it does not reconnect by itself: a
   * cluster's subscriber follows the slot map instead).
   */
  duplicate (node?: NodeAddress): Redis
}

declare module '../../lib/namespace.js' {
  interface MatchcastNamespace {
    /** matchcast-redis: present only when `redis` is configured. */
    redis?: MatchcastRedis
  }
}

/** Whether `client` is a cluster client, asked without loading ioredis (which marks both kinds). */
export function isCluster (client: Redis | Cluster): client is Cluster {
  return client.isCluster
}

const plugin: FastifyPluginAsync<RedisOptions> = async (app, options) => {
  const prefix = options.keyPrefix ?? DEFAULT_KEY_PREFIX
  if (typeof prefix !== 'string' || !/^[\w.-]{1,64}$/.test(prefix)) throw new InvalidOptionsError('redis.keyPrefix: 1-64 of [A-Za-z0-9_.-]')
  const timeout = options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS
  if (!Number.isInteger(timeout) || timeout < 1) throw new InvalidOptionsError('redis.commandTimeoutMs: must be a positive integer')
  // ioredis and @fastify/redis load here, so a start without Redis holds neither.
  const { connect, nodeConnection, fastifyRedis } = await import('./connect.js')
  const { client, owned } = connect(options, timeout)
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
  // which would make `app.close()` fail exactly when it matters. (It waits for `ready` alike on a
  // cluster, whose events and status are those of a client.)
  await app.register(fastifyRedis, { client: client as Redis, namespace: 'matchcast', closeClient: false })

  const duplicates = new Set<Redis>()
  const track = (copy: Redis): Redis => {
    duplicates.add(copy)
    copy.on('end', () => duplicates.delete(copy))
    return copy
  }
  namespace(app).redis = {
    client,
    cluster: isCluster(client),
    prefix,
    commandTimeoutMs: timeout,
    key: (area, id) => `${prefix}:${area}:${id}`,
    duplicate (node) {
      if (isCluster(client)) {
        if (node === undefined) throw new InvalidOptionsError('redis.duplicate: a cluster connection needs a node')
        const copy = nodeConnection(client, node)
        // A node going away is expected; the subscriber notices through `close` and moves on.
        copy.on('error', () => {})
        return track(copy)
      }
      const copy = client.duplicate()
      copy.on('error', onError)
      return track(copy)
    }
  }
  app.addHook('onClose', async () => {
    client.off('error', onError)
    client.off('ready', onReady)
    const connections: Array<Redis | Cluster> = owned ? [client, ...duplicates] : [...duplicates]
    await Promise.all(connections.map((c) => c.quit().catch(() => c.disconnect())))
  })
}

/** The Redis connection matchcast shares between its broker and its limiter (via @fastify/redis). */
export const matchcastRedis = fp(plugin, { name: 'matchcast-redis', fastify: '5.x', dependencies: [], decorators: {} })
export default matchcastRedis
