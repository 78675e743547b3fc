/** Events and frame readers shared by the broadcast tests. */
import type { PendingEvent } from '../../../schemas/messages.js'
import type { Client } from '../../helper.js'

export const reported = (n: number): PendingEvent => ({ type: 'result_reported', data: { by: 'u-a', scores: { 'u-a': n } } })
export const score = (n: number): PendingEvent => ({ type: 'score_updated', data: { scores: { 'u-a': n } } })
export const completed: PendingEvent = { type: 'match_completed', data: { state: 'completed', scores: { 'u-a': 3 }, winnerId: 'u-a', completedAt: '2030-01-01T00:00:00.000Z', certificateId: 'c-1' } }

export type Frame = Record<string, unknown>
export interface Ev { type: string, seq: number, data: unknown }

/** The events in a frame: a batch's list, a lone event, or none. */
export function eventsIn (frame: Frame): Ev[] {
  if (frame.type === 'batch') return frame.events as Ev[]
  return typeof frame.seq === 'number' && frame.matchId !== undefined && frame.type !== 'snapshot' ? [frame as unknown as Ev] : []
}

/** Reads frames until `count` events have arrived; returns their seqs. */
export async function readSeqs (c: Client, count: number): Promise<number[]> {
  const seqs: number[] = []
  while (seqs.length < count) seqs.push(...eventsIn(await c.next()).map((e) => e.seq))
  return seqs
}

/** What one tournament-room client saw, per match: gaps and duplicates must stay 0. */
export class Tracker {
  readonly last = new Map<string, number>()
  delivered = 0
  gaps = 0
  duplicates = 0
  resyncs = 0
  /** Matches named by a resync snapshot: the snapshot stands for events they did not get. */
  readonly resynced = new Set<string>()
  /** Per match: the seq of the join snapshot, and the events delivered after it. */
  readonly #start = new Map<string, number>()
  readonly #counts = new Map<string, number>()
  #stopped = false
  readonly done: Promise<void>

  constructor (readonly c: Client) {
    this.done = this.#read()
  }

  async #read (): Promise<void> {
    while (!this.#stopped) {
      let frame: Frame
      try {
        frame = await this.c.next<Frame>(200)
      } catch {
        continue
      }
      if (frame.type === 'snapshot') {
        if (frame.resync === true) this.resyncs++
        for (const [id, seq] of Object.entries(frame.seqs as Record<string, number>)) {
          this.last.set(id, seq)
          if (frame.resync === true) this.resynced.add(id)
          else this.#start.set(id, seq)
        }
        continue
      }
      for (const event of eventsIn(frame)) {
        const id = (event as unknown as Frame).matchId as string
        const last = this.last.get(id)!
        if (event.seq <= last) this.duplicates++
        else if (event.seq !== last + 1) this.gaps++
        this.delivered++
        this.#counts.set(id, (this.#counts.get(id) ?? 0) + 1)
        this.last.set(id, Math.max(last, event.seq))
      }
    }
  }

  /** Matches never resynced that did not get every event from their join snapshot to `heads` (match id → last seq). */
  missing (heads: ReadonlyMap<string, number>): string[] {
    return [...heads].filter(([id, head]) => !this.resynced.has(id) && (this.#counts.get(id) ?? 0) !== head - this.#start.get(id)!).map(([id]) => id)
  }

  async stop (): Promise<void> {
    this.#stopped = true
    await this.done
  }
}
