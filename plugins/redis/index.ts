import type { FastifyPluginAsync } from 'fastify'
import fp from 'fastify-plugin'
import type { Cluster, ClusterNode, ClusterOptions, Redis } from 'ioredis'
import { InvalidOptionsError } from '../../lib/errors.js'
import { namespace } from '../../lib/namespace.js'

export const DEFAULT_KEY_PREFIX = 'matchcast'
export const DEFAULT_COMMAND_TIMEOUT_MS = 500
/** How often a cluster client re-reads the slot map on its own (it also does on MOVED and failures). */
export const SLOTS_REFRESH_INTERVAL_MS = 5000

/** A Redis Cluster to connect to: its startup nodes, and any ioredis cluster option. */
export interface RedisClusterConfig extends ClusterOptions {
  cluster: ClusterNode[]
}

export interface RedisOptions {
  /**
   * `redis://…` URL, an ioredis client, a Redis Cluster (`{ cluster: [nodes…], ...ioredis cluster
   * options }`) or an ioredis `Cluster`. A client passed in is not closed unless `closeClient`.
   */
  redis: string | Redis | Cluster | RedisClusterConfig
  /** Prefix of every key and channel: `${prefix}:${area}:${id}`. @default 'matchcast' */
  keyPrefix?: string
  /** A command that has not answered in this time fails (so nothing waits long on a dead Redis). @default 500 */
  commandTimeoutMs?: number
  /** Close a client that was passed in when the app closes. @default false */
  closeClient?: boolean
}

/** A node of a cluster, as `host` and `port`. */
export interface NodeAddress { host: string, port: number }

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

/** The same settings for a cluster: per node, and for the cluster as a whole. */
/**
 * What `new Cluster` takes. (ioredis's option types spell optional fields without `| undefined`, so
 * under `exactOptionalPropertyTypes` an options object built by spreading needs this cast.)
 */
export type ClusterClientOptions = NonNullable<ConstructorParameters<typeof Cluster>[1]>

export function clusterOptions (commandTimeoutMs: number): ClusterClientOptions {
  const { enableOfflineQueue, retryStrategy, ...perNode } = clientOptions(commandTimeoutMs)
  return {
    enableOfflineQueue,
    clusterRetryStrategy: retryStrategy,
    slotsRefreshInterval: SLOTS_REFRESH_INTERVAL_MS,
    redisOptions: perNode
  } as ClusterClientOptions
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
