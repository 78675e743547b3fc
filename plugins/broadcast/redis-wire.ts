/**
 * What the Redis broker puts on the wire: the publish script (sequencing, history and PUBLISH in
 * one step, `lua/publish.lua`) and the batch message it announces to every instance.
 */
import type { Cluster, Redis } from 'ioredis'
import { readLua } from '../../lib/lua.js'
import type { MatchEvent } from '../../schemas/events.js'
import type { SequencedBatch } from './gate.js'

/** The publish script, read once per process; each client defines it once and runs it by SHA. */
const PUBLISH_LUA = readLua(import.meta.url, 'broadcast', 'publish')

export type PublishReply = [epoch: string, seq: number, message: string]
export interface PublishCommand {
  matchcastPublish (stream: string, history: string, ...args: Array<string | number>): Promise<PublishReply>
}

/** Defines the publish script on `client` unless it already has it. */
export function definePublish (client: Redis | Cluster): asserts client is (Redis | Cluster) & PublishCommand {
  if (typeof (client as Partial<PublishCommand>).matchcastPublish !== 'function') client.defineCommand('matchcastPublish', { numberOfKeys: 2, lua: PUBLISH_LUA })
}

/** The wire message of one batch, as the script builds it. */
interface WireBatch {
  v: 1
  node: string
  epoch: string
  seq: number
  events: MatchEvent[]
}

/** A batch message from the channel; throws on anything that is not one. */
export function parseBatch (message: string): SequencedBatch {
  const wire = JSON.parse(message) as WireBatch
  if (wire.v !== 1 || typeof wire.epoch !== 'string' || !Number.isInteger(wire.seq) || !Array.isArray(wire.events)) throw new Error('not a matchcast batch')
  return { epoch: wire.epoch, seq: wire.seq, events: wire.events }
}
