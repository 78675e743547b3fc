/**
 * `matchcast/protocol`: the WebSocket protocol as a browser can import it (the client SDK does).
 * Close codes by name and by number with their advice, error codes, the command and event types
 * and every frame's TypeScript type. Nothing here imports server code, Node built-ins or TypeBox:
 * the frame types are type-only imports of the schemas, erased at build time.
 */
import type { CommandType } from '../schemas/commands.js'
import type { EventType } from '../schemas/events.js'

export { AbnormalClosure, CloseCode, closeCodeByName, closeCodeByNumber } from './close-codes.js'
export type { CloseCodeEntry, CloseCodeInfo, CloseCodeName, Reconnect } from './close-codes.js'
export { WS_ERROR_CODES, WS_ERRORS, type WsErrorCode } from './error-codes.js'

/** The subprotocol the server answers; a browser offers it beside `bearer.<jwt>`. */
export const SUBPROTOCOL = 'matchcast.v1'
/** The prefix of the subprotocol entry that carries the token: `bearer.<jwt>`. */
export const BEARER_PROTOCOL = 'bearer.'

/** Every client command type, in the order of the command table (`schemas/commands.ts`; a test checks they agree). */
export const COMMAND_TYPES = ['ping', 'match.start', 'score.update', 'result.report', 'match.dispute', 'match.finalize', 'match.cancel'] as const satisfies readonly CommandType[]
/** Every match event type, in the order of the event table (`schemas/events.ts`). */
export const EVENT_TYPES = ['match_started', 'score_updated', 'result_reported', 'match_disputed', 'match_completed', 'match_cancelled'] as const satisfies readonly EventType[]
/** The events after which a match never changes again. */
export const TERMINAL_EVENT_TYPES = ['match_completed', 'match_cancelled'] as const satisfies readonly EventType[]

export type { CommandType, ClientCommand, MatchCommand, CommandId } from '../schemas/commands.js'
export type { EventType, MatchEvent, PendingEvent } from '../schemas/events.js'
export type {
  AckFrame, BatchFrame, ErrorDetail, ErrorFrame, MatchSnapshotFrame, PongFrame, ServerFrame, TournamentSnapshotFrame
} from '../schemas/frames.js'
export type { Match, MatchState, Role, Scores, Prize } from '../schemas/common.js'
