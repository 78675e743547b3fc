/** What the Redis broker is built from (`RedisBroker`). */
import type { Cluster, Redis } from 'ioredis'
import type { NodeAddress } from '../redis/index.js'
import type { HistoryOptions } from './broker.js'
import type { BrokerLog } from './redis-outage.js'
import type { KeyLifetimes } from './redis-stream.js'

export interface RedisBrokerOptions extends HistoryOptions, Partial<KeyLifetimes> {
  /** Command connection (shared), to one server or a cluster: runs the publish script and reads history. Not closed by the broker. */
  client: Redis | Cluster
  /**
   * One server: a dedicated connection for SUBSCRIBE (stuck in subscriber mode). A cluster: opens
   * a connection to a node, one per shard, for SSUBSCRIBE. The broker closes what it gets.
   */
  subscriber: Redis | ((node: NodeAddress) => Redis)
  /** Prefix of every key and channel: `${prefix}:match:{matchId}…`. */
  prefix: string
  log: BrokerLog
  /**
   * How long `position` and `since` (read while admitting a room connection) wait for Redis before
   * treating it as unreachable, also on a client without a command timeout. @default 500
   */
  readTimeoutMs?: number
  now?: () => number
}
