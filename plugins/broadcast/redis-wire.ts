/**
 * What the Redis broker puts on the wire: the publish script (sequencing, history and PUBLISH in
 * one step, `lua/publish.lua`), the batch message it announces to every instance, and the reading
 * of a match's history.
 */
import type { Cluster, Redis } from 'ioredis'
import { readLua } from '../../lib/lua.js'
import type { MatchEvent, PendingEvent } from '../../schemas/events.js'
import type { SequencedBatch } from './gate.js'

/** The publish script, read once per process; each client defines it once and runs it by SHA. */
const PUBLISH_LUA = readLua(import.meta.url, 'broadcast', 'publish')

/** The script's fixed tuple (see lua/publish.lua): `version` is -1 when the stream has none. */
export type PublishReply = [status: 'ok' | 'gap' | 'moved', epoch: string, seq: number, version: number, message: string]
export interface PublishCommand {
  matchcastPublish (stream: string, history: string, ...args: Array<string | number>): Promise<PublishReply>
}

/** Defines the publish script on `client` unless it already has it. */
export function definePublish (client: Redis | Cluster): asserts client is (Redis | Cluster) & PublishCommand {
  if (typeof (client as Partial<PublishCommand>).matchcastPublish !== 'function') client.defineCommand('matchcastPublish', { numberOfKeys: 2, lua: PUBLISH_LUA })
}

/**
 * The script's per-event arguments: the JSON around the seq (the script puts the seq in between),
 * then the match version the event announces ('' for an event from outside the outbox).
 */
export function eventArgs (matchId: string, ts: string, events: PendingEvent[], versions: ReadonlyArray<number | undefined> = []): string[] {
  const args: string[] = []
  events.forEach((e, i) => {
    args.push(`{"type":"${e.type}","matchId":${JSON.stringify(matchId)},"seq":`, `,"ts":"${ts}","data":${JSON.stringify(e.data)}}`, String(versions[i] ?? ''))
  })
  return args
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

/**
 * The events of `stream` after `afterSeq` from its history, when the stream is in `epoch` and
 * history still holds every one of them, none older than `oldest` (ms); else `undefined`.
 */
export async function readHistory (client: Redis | Cluster, stream: string, afterSeq: number, epoch: string, oldest: number): Promise<MatchEvent[] | undefined> {
  // One transaction, so the head and the history belong together.
  const [[, meta], [, list]] = (await client.multi().hmget(stream, 'epoch', 'seq').lrange(`${stream}:history`, 0, -1).exec()) as
    [[null, [string | null, string | null]], [null, string[]]]
  const head = Number(meta[1] ?? 0)
  if (meta[0] !== epoch || afterSeq > head) return undefined
  if (afterSeq === head) return []
  const wanted = head - afterSeq
  if (list.length < wanted) return undefined
  const events = list.slice(list.length - wanted).map((raw) => JSON.parse(raw) as MatchEvent)
  // History is in seq and time order: if the oldest wanted event is young enough, all are.
  if (Date.parse(events[0]!.ts) < oldest) return undefined
  return events
}
