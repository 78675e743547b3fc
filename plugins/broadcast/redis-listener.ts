/**
 * How the Redis broker hears other instances' batches: SUBSCRIBE on one dedicated connection (one
 * Redis server), or SSUBSCRIBE on one connection per cluster shard (`shard-listener.ts`). Both tell
 * the broker when a subscription took effect and when one ended, because pub/sub is at-most-once:
 * what was published in between must come from history, and only a confirmed subscription followed
 * by a read of the stream head closes that gap.
 */
import type { Redis } from 'ioredis'

export interface ListenerHooks {
  /** A message on a watched channel. */
  message (channel: string, message: string): void
  /** These channels are subscribed (the server confirmed it): for the first time, or again after `lost`. */
  subscribed (channels: string[]): void
  /** The subscription of these channels ended (connection lost, slot moved): messages may be missed until `subscribed`. */
  lost (channels: string[]): void
  /** A connection or subscription failed (logged once per outage by the broker). */
  error (err: unknown): void
}

/** One subscriber connection, as `/readyz` reports it. */
export interface SubscriberHealth {
  /** `host:port` of the server (or cluster primary) it listens to. */
  node: string
  status: 'up' | 'down'
  /** Channels subscribed on it. */
  channels: number
}

/** What `RedisBroker.health()` tells: its listener's connections, and the pub/sub traffic. */
export interface BrokerHealth {
  subscribers: SubscriberHealth[]
  /** Watched channels not subscribed right now (their shard is being found or reconnected). */
  pending: number
  /** Pub/sub messages received since start; `own` and `unwatched` ones were not needed. */
  messages: { received: number, own: number, unwatched: number }
}

export interface ChannelListener {
  /** Subscribes to `channels` (idempotent): `subscribed` tells when each has taken effect. */
  add (channels: string[]): void
  /** Stops listening to `channel` (idempotent). */
  remove (channel: string): void
  /** Every subscriber connection, and how many wanted channels are not subscribed right now. */
  health (): { subscribers: SubscriberHealth[], pending: number }
  /** Resolves once the listener can hear messages, or after `timeoutMs` (it keeps connecting then). */
  connected (timeoutMs: number): Promise<void>
  /** Closes every connection of the listener. Idempotent. */
  close (): Promise<void>
}

/** SUBSCRIBE on one connection to one server; ioredis reconnects it, and it subscribes everything again. */
export class PlainListener implements ChannelListener {
  readonly #conn: Redis
  readonly #hooks: ListenerHooks
  readonly #channels = new Set<string>()
  /** Channels removed while disconnected. */
  readonly #left = new Set<string>()

  constructor (conn: Redis, hooks: ListenerHooks) {
    this.#conn = conn
    this.#hooks = hooks
    conn.on('message', hooks.message)
    conn.on('ready', this.#onReady)
    conn.on('close', this.#onClose)
    conn.on('error', hooks.error)
  }

  add (channels: string[]): void {
    for (const channel of channels) this.#channels.add(channel)
    if (this.#conn.status === 'ready') this.#subscribe(channels)
  }

  remove (channel: string): void {
    this.#channels.delete(channel)
    if (this.#conn.status === 'ready') this.#conn.unsubscribe(channel).catch(this.#hooks.error)
    // ioredis subscribes again, on reconnecting, to what it had: this one is dropped then.
    else this.#left.add(channel)
  }

  health () {
    const { host, port } = this.#conn.options
    return {
      subscribers: [{ node: `${host}:${port}`, status: this.#conn.status === 'ready' ? 'up' as const : 'down' as const, channels: this.#channels.size }],
      pending: this.#conn.status === 'ready' ? 0 : this.#channels.size
    }
  }

  async connected (timeoutMs: number): Promise<void> {
    if (this.#conn.status === 'ready') return
    await new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer)
        this.#conn.off('ready', done)
        resolve()
      }
      const timer = setTimeout(done, timeoutMs)
      this.#conn.on('ready', done)
    })
  }

  #subscribe (channels: string[]): void {
    this.#conn.subscribe(...channels).then(() => {
      const still = channels.filter((c) => this.#channels.has(c))
      if (still.length > 0) this.#hooks.subscribed(still)
    }, this.#hooks.error)
  }

  /** (Re)connected: subscribe to everything; ioredis resubscribes too, but only a confirmed SUBSCRIBE tells when. */
  readonly #onReady = (): void => {
    if (this.#left.size > 0) this.#conn.unsubscribe(...this.#left).catch(this.#hooks.error)
    this.#left.clear()
    if (this.#channels.size > 0) this.#subscribe([...this.#channels])
  }

  readonly #onClose = (): void => {
    this.#hooks.error(new Error('connection to Redis lost'))
    if (this.#channels.size > 0) this.#hooks.lost([...this.#channels])
  }

  async close (): Promise<void> {
    this.#channels.clear()
    this.#conn.off('message', this.#hooks.message)
    this.#conn.off('ready', this.#onReady)
    this.#conn.off('close', this.#onClose)
    // The error listener stays: a closing connection may still report its socket's end.
    await this.#conn.quit().catch(() => this.#conn.disconnect())
  }
}
