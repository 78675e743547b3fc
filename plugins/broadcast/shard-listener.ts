/**
 * Sharded pub/sub on a Redis Cluster: SSUBSCRIBE on one connection per shard (the primary that owns
 * a channel's slot), so a batch travels only to the shard of its match and to the instances that
 * watch it. The listener follows the slot map: a connection that drops, a slot that moves
 * (resharding: the server ends those subscriptions) or a primary replaced by its replica (failover)
 * makes it report the affected channels `lost`, then subscribe them again where their slot is now
 * served and report them `subscribed` once the server confirmed it. Until a slot is served again
 * it retries with a short back-off; with nothing to do it keeps no timer.
 */
import type { Cluster, Redis } from 'ioredis'
import { keySlot } from '../../lib/key-slot.js'
import { isCluster, type NodeAddress } from '../redis/index.js'
import { PlainListener, type ChannelListener, type ListenerHooks, type SubscriberHealth } from './redis-listener.js'

const RETRY_MIN_MS = 50
const RETRY_MAX_MS = 1000

interface Shard {
  conn: Redis
  /** Channels sent to (and maybe confirmed by) this shard. */
  channels: Set<string>
}

/** Where a wanted channel stands: subscribing (or subscribed, once `confirmed`) on `node`. */
interface Assignment {
  node: string
  confirmed: boolean
}

export class ShardListener implements ChannelListener {
  readonly #cluster: Cluster
  readonly #connect: (node: NodeAddress) => Redis
  readonly #hooks: ListenerHooks
  /** Every wanted channel; `undefined` while it waits for a shard. */
  readonly #wanted = new Map<string, Assignment | undefined>()
  readonly #shards = new Map<string, Shard>()
  #retry: NodeJS.Timeout | undefined
  #attempts = 0
  #closed = false

  constructor (cluster: Cluster, connect: (node: NodeAddress) => Redis, hooks: ListenerHooks) {
    this.#cluster = cluster
    this.#connect = connect
    this.#hooks = hooks
    cluster.on('refresh', this.#reconcile)
  }

  add (channels: string[]): void {
    for (const channel of channels) if (!this.#wanted.has(channel)) this.#wanted.set(channel, undefined)
    this.#assign()
  }

  remove (channel: string): void {
    const assignment = this.#wanted.get(channel)
    this.#wanted.delete(channel)
    if (assignment !== undefined) this.#drop(assignment.node, [channel])
  }

  /** Shard connections open as channels need them: nothing to wait for before the first. */
  async connected (): Promise<void> {}

  health () {
    const subscribers: SubscriberHealth[] = [...this.#shards].map(([node, shard]) =>
      ({ node, status: shard.conn.status === 'ready' ? 'up' as const : 'down' as const, channels: shard.channels.size }))
    let pending = 0
    for (const assignment of this.#wanted.values()) if (assignment?.confirmed !== true) pending++
    return { subscribers, pending }
  }

  /** The primary that serves the channel's slot, as the cluster client knows it now. */
  #owner (channel: string): string | undefined {
    return this.#cluster.slots[keySlot(channel)]?.[0]
  }

  /** Subscribes every waiting channel on its slot's primary: one SSUBSCRIBE per slot (the command refuses several slots). */
  #assign (): void {
    if (this.#closed) return
    const bySlot = new Map<string, string[]>()
    let unserved = false
    for (const [channel, assignment] of this.#wanted) {
      if (assignment !== undefined) continue
      const node = this.#owner(channel)
      if (node === undefined) {
        unserved = true
        continue
      }
      this.#wanted.set(channel, { node, confirmed: false })
      const group = `${node} ${keySlot(channel)}`
      bySlot.set(group, [...bySlot.get(group) ?? [], channel])
    }
    for (const [group, channels] of bySlot) this.#subscribe(group.split(' ')[0]!, channels)
    if (unserved) this.#retryLater()
  }

  #subscribe (node: string, channels: string[]): void {
    const shard = this.#shard(node)
    for (const channel of channels) shard.channels.add(channel)
    shard.conn.ssubscribe(...channels).then(() => {
      const confirmed = channels.filter((c) => this.#wanted.get(c)?.node === node)
      for (const channel of confirmed) this.#wanted.get(channel)!.confirmed = true
      this.#attempts = 0
      if (confirmed.length > 0) this.#hooks.subscribed(confirmed)
    }, (err: unknown) => {
      // MOVED (a stale slot map) or the connection went away: wait for a fresh map and try again.
      if (this.#closed) return
      this.#hooks.error(err)
      this.#unassign(node, channels)
      this.#retryLater()
    })
  }

  /** The shard's connection, opened on first use. */
  #shard (node: string): Shard {
    let shard = this.#shards.get(node)
    if (shard !== undefined) return shard
    const at = node.lastIndexOf(':')
    const conn = this.#connect({ host: node.slice(0, at), port: Number(node.slice(at + 1)) })
    shard = { conn, channels: new Set() }
    this.#shards.set(node, shard)
    conn.on('smessage', this.#hooks.message)
    conn.on('close', () => this.#onClose(node, conn))
    // The server ended subscriptions (their slot moved away) or refused one (MOVED): re-read the map.
    conn.on('moved', () => this.#onMoved(node))
    return shard
  }

  /** A shard's connection dropped (the node died or was cut off): its channels go elsewhere. */
  #onClose (node: string, conn: Redis): void {
    const shard = this.#shards.get(node)
    if (shard?.conn !== conn) return
    this.#shards.delete(node)
    this.#hooks.error(new Error(`subscriber connection to ${node} lost`))
    this.#lose(node, [...shard.channels])
    this.#retryLater()
  }

  #onMoved (node: string): void {
    const shard = this.#shards.get(node)
    if (shard === undefined || this.#closed) return
    // Which channels the server dropped is not said: every channel of the shard subscribes again,
    // after the map was re-read (SSUBSCRIBE of a channel still held there is harmless).
    this.#lose(node, [...shard.channels])
    this.#retryLater()
  }

  /**
   * Cluster map re-read (on every refresh, at least every few seconds): a channel held on a node
   * that no longer serves its slot moves, and waiting channels subscribe where their slot is served
   * now. Redis ends the subscriptions of a slot that migrates away and the connection reports it
   * (`#onMoved`), but a channel can still be left behind: a notice the client matched to a queued
   * command, or a subscription made from a stale map on a primary just demoted, which then serves
   * the slot as a replica and does not get the shard's messages (Redis 7.0). The map decides; a
   * slot it does not list (mid-failover) waits until it does.
   */
  readonly #reconcile = (): void => {
    const stale = new Map<string, string[]>()
    for (const [channel, assignment] of this.#wanted) {
      if (assignment === undefined || this.#owner(channel) === assignment.node) continue
      stale.set(assignment.node, [...stale.get(assignment.node) ?? [], channel])
    }
    for (const [node, channels] of stale) {
      this.#lose(node, channels)
      this.#drop(node, channels)
    }
    this.#assign()
  }

  /** Marks channels of `node` as waiting again, reporting those that were subscribed. */
  #lose (node: string, channels: string[]): void {
    const lost = channels.filter((c) => this.#wanted.get(c)?.node === node)
    this.#unassign(node, lost)
    if (lost.length > 0) this.#hooks.lost(lost)
  }

  #unassign (node: string, channels: string[]): void {
    const shard = this.#shards.get(node)
    for (const channel of channels) {
      shard?.channels.delete(channel)
      if (this.#wanted.get(channel)?.node === node) this.#wanted.set(channel, undefined)
    }
  }

  /** Unsubscribes `channels` on `node` (best effort), and closes a shard connection left with nothing. */
  #drop (node: string, channels: string[]): void {
    // A channel assigned to a node is in that shard's set until it is unassigned (`#unassign`).
    const shard = this.#shards.get(node)!
    for (const channel of channels) shard.channels.delete(channel)
    if (shard.channels.size === 0) {
      this.#shards.delete(node)
      shard.conn.quit().catch(() => shard.conn.disconnect())
    } else if (shard.conn.status === 'ready') {
      // One channel per command: SUNSUBSCRIBE refuses channels of several slots.
      for (const channel of channels) shard.conn.sunsubscribe(channel).catch(() => {})
    }
  }

  /** Re-reads the slot map after a back-off, then reassigns; one timer at a time, none when idle. */
  #retryLater (): void {
    // Never after close(): every caller returns first once the listener is closed.
    if (this.#retry !== undefined) return
    const delay = Math.min(RETRY_MIN_MS * 2 ** this.#attempts++, RETRY_MAX_MS)
    this.#retry = setTimeout(() => {
      this.#retry = undefined
      this.#cluster.refreshSlotsCache(() => this.#reconcile())
    }, delay)
    this.#retry.unref()
  }

  async close (): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    clearTimeout(this.#retry)
    this.#cluster.off('refresh', this.#reconcile)
    this.#wanted.clear()
    const shards = [...this.#shards.values()]
    this.#shards.clear()
    await Promise.all(shards.map(({ conn }) => conn.quit().catch(() => conn.disconnect())))
  }
}

/** The listener for `client`: one SUBSCRIBE connection on one server, one SSUBSCRIBE connection per shard on a cluster. */
export function createListener (client: Redis | Cluster, subscriber: Redis | ((node: NodeAddress) => Redis), hooks: ListenerHooks): ChannelListener {
  if (isCluster(client)) {
    if (typeof subscriber !== 'function') throw new TypeError('a cluster broker opens one subscriber per shard: pass subscriber as (node) => Redis')
    return new ShardListener(client, subscriber, hooks)
  }
  if (typeof subscriber === 'function') throw new TypeError('a broker on one Redis server listens on one connection: pass subscriber as a Redis client')
  return new PlainListener(subscriber, hooks)
}
