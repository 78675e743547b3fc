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
