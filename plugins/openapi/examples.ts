/** Examples of every WebSocket message for the AsyncAPI document; typed, so they follow the schemas. */
import { EXAMPLE_TIMES, exampleOf, Match } from '../../schemas/common.js'
import type { ClientCommand, CommandType } from '../../schemas/commands.js'
import type { EventType, MatchEvent } from '../../schemas/events.js'
import type { AckFrame, BatchFrame, ErrorFrame, MatchSnapshotFrame, PongFrame, TournamentSnapshotFrame } from '../../schemas/frames.js'

/** The match of the OpenAPI document's examples (the `Match` schema's own `example`). */
const match = exampleOf(Match)

export const COMMAND_EXAMPLES: { [K in CommandType]: Extract<ClientCommand, { type: K }> } = {
  ping: { type: 'ping', id: 1 },
  'match.start': { type: 'match.start', id: 2 },
  'score.update': { type: 'score.update', id: 3, scores: { 'u-a': 2, 'u-b': 1 } },
  'result.report': { type: 'result.report', id: 'r-1', scores: { 'u-a': 3, 'u-b': 1 } },
  'match.dispute': { type: 'match.dispute', id: 'd-1', reason: 'the last round was not counted' },
  'match.finalize': { type: 'match.finalize', id: 4, scores: { 'u-a': 3, 'u-b': 1 } },
  'match.cancel': { type: 'match.cancel', id: 5, reason: 'a participant withdrew' }
}

const at = (seq: number) => ({ matchId: 'm1', seq, ts: EXAMPLE_TIMES.started })
export const EVENT_EXAMPLES: { [K in EventType]: Extract<MatchEvent, { type: K }> } = {
  match_started: { type: 'match_started', ...at(1), data: { state: 'live', startedAt: EXAMPLE_TIMES.started } },
  score_updated: { type: 'score_updated', ...at(2), data: { scores: { 'u-a': 2, 'u-b': 1 } } },
  result_reported: { type: 'result_reported', ...at(3), data: { by: 'u-a', scores: { 'u-a': 3, 'u-b': 1 } } },
  match_disputed: { type: 'match_disputed', ...at(4), data: { state: 'disputed', by: 'u-b', reason: 'the last round was not counted' } },
  match_completed: {
    type: 'match_completed',
    ...at(5),
    ts: EXAMPLE_TIMES.completed,
    data: { state: 'completed', scores: { 'u-a': 3, 'u-b': 1 }, winnerId: 'u-a', completedAt: EXAMPLE_TIMES.completed, certificateId: 'c-91d2' }
  },
  match_cancelled: { type: 'match_cancelled', ...at(5), data: { state: 'cancelled', reason: 'a participant withdrew' } }
}

export const FRAME_EXAMPLES: {
  matchSnapshot: MatchSnapshotFrame
  tournamentSnapshot: TournamentSnapshotFrame
  ack: AckFrame
  pong: PongFrame
  error: ErrorFrame
  batch: BatchFrame
} = {
  matchSnapshot: { type: 'snapshot', matchId: 'm1', seq: 12, epoch: 'k3x9-1732442400000', role: 'organizer', match },
  tournamentSnapshot: {
    type: 'snapshot',
    tournamentId: 't1',
    role: 'spectator',
    matches: [match, { id: 'm2', tournamentId: 't1', state: 'scheduled', participants: ['u-b', 'u-c'], scores: { 'u-b': 0, 'u-c': 0 }, winnerId: null, version: 0 }],
    seqs: { m1: 12, m2: 0 },
    epochs: { m1: 'k3x9-1732442400000', m2: 'k3x9-1732442400000' }
  },
  ack: { type: 'ack', id: 3 },
  pong: { type: 'pong', id: 1 },
  error: { type: 'error', id: 2, code: 'invalid_state', message: 'command not allowed in the match\'s current state' },
  batch: { type: 'batch', matchId: 'm1', events: [EVENT_EXAMPLES.score_updated, { ...EVENT_EXAMPLES.score_updated, seq: 3, data: { scores: { 'u-a': 3, 'u-b': 1 } } }] }
}
