/**
 * matchcast-redis's options and the settings of the connections it makes: no ioredis code, so the
 * plugin (index.ts) and its ioredis side (connect.ts, loaded only with Redis) share them.
 */
import type { Cluster, ClusterNode, ClusterOptions, Redis } from 'ioredis'

export const DEFAULT_KEY_PREFIX = 'matchcast'
export const DEFAULT_COMMAND_TIMEOUT_MS = 500
/** The longest a connection attempt may take. */
export const CONNECT_TIMEOUT_MS = 2000
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

/**
 * Fail-fast settings: commands are not queued while disconnected and fail after a short timeout,
 * so callers can fall back instead of hanging; reconnects keep being tried, at most 1 s apart.
 */
export function clientOptions (commandTimeoutMs: number) {
  return {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: CONNECT_TIMEOUT_MS,
    commandTimeout: commandTimeoutMs,
    retryStrategy: (times: number) => Math.min(times * 100, 1000)
  }
}

/**
 * What `new Cluster` takes. (ioredis's option types spell optional fields without `| undefined`, so
 * under `exactOptionalPropertyTypes` an options object built by spreading needs this cast.)
 */
export type ClusterClientOptions = NonNullable<ConstructorParameters<typeof Cluster>[1]>

/** The same settings for a cluster: per node, and for the cluster as a whole. */
export function clusterOptions (commandTimeoutMs: number): ClusterClientOptions {
  const { enableOfflineQueue, retryStrategy, ...perNode } = clientOptions(commandTimeoutMs)
  return {
    enableOfflineQueue,
    clusterRetryStrategy: retryStrategy,
    slotsRefreshInterval: SLOTS_REFRESH_INTERVAL_MS,
    redisOptions: perNode
  } as ClusterClientOptions
}
