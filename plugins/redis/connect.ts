/**
 * The ioredis side of matchcast-redis, imported by the plugin only when `redis` is configured: a
 * start without Redis loads neither ioredis nor @fastify/redis.
 */
import { Cluster, Redis, type RedisOptions as IORedisOptions } from 'ioredis'
import { InvalidOptionsError } from '../../lib/errors.js'
import { clientOptions, clusterOptions, type ClusterClientOptions, type NodeAddress, type RedisClusterConfig, type RedisOptions } from './options.js'

export { default as fastifyRedis } from '@fastify/redis'

/** What `new Redis` takes (see `ClusterClientOptions`). */
type RedisClientOptions = IORedisOptions & { replyMapping?: 'legacy' }

const BAD_REDIS = 'redis: must be a redis:// or rediss:// URL, an ioredis client or Cluster, or { cluster: [nodes…] }'

function isClusterConfig (value: unknown): value is RedisClusterConfig {
  return typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype && Object.hasOwn(value, 'cluster')
}

/** The command connection the option asks for, and whether matchcast owns (and closes) it. */
export function connect (options: RedisOptions, timeout: number): { client: Redis | Cluster, owned: boolean } {
  const { redis } = options
  if (typeof redis === 'string') {
    if (!/^rediss?:\/\//.test(redis)) throw new InvalidOptionsError(BAD_REDIS)
    return { client: new Redis(redis, clientOptions(timeout)), owned: true }
  }
  if (redis instanceof Redis || redis instanceof Cluster) return { client: redis, owned: options.closeClient === true }
  if (isClusterConfig(redis)) {
    const { cluster: nodes, ...rest } = redis
    if (!Array.isArray(nodes) || nodes.length === 0) throw new InvalidOptionsError('redis.cluster: must list at least one node')
    const defaults = clusterOptions(timeout)
    return { client: new Cluster(nodes, { ...defaults, ...rest, redisOptions: { ...defaults.redisOptions, ...rest.redisOptions } } as ClusterClientOptions), owned: true }
  }
  throw new InvalidOptionsError(BAD_REDIS)
}

/** A connection to one node of `cluster`, with its settings: queued until connected, never reconnecting (a node that went away may never serve again). */
export function nodeConnection (cluster: Cluster, node: NodeAddress): Redis {
  return new Redis({ ...cluster.options.redisOptions, host: node.host, port: node.port, enableOfflineQueue: true, retryStrategy: () => null } as RedisClientOptions)
}
