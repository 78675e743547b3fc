/** What the Redis broker is built from (`RedisBroker`), and where it logs. */
import type { Redis } from 'ioredis'
import type { HistoryOptions } from './broker.js'

export interface BrokerLog {
  info (obj: object, msg: string): void
  warn (obj: object, msg: string): void
}

export interface RedisBrokerOptions extends HistoryOptions {
  /** Command connection (shared): runs the publish script and reads history. Not closed by the broker. */
  client: Redis
  /** A dedicated connection for SUBSCRIBE (it is stuck in subscriber mode); the broker closes it. */
  subscriber: Redis
  /** Prefix of every key and channel: `${prefix}:match:${matchId}…`. */
  prefix: string
  log: BrokerLog
  /**
   * How long `position` and `since` (read while admitting a room connection) wait for Redis before
   * treating it as unreachable, also on a client without a command timeout. @default 500
   */
  readTimeoutMs?: number
  now?: () => number
}
