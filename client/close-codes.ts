/**
 * What the SDK does when the server closes a room's socket: the advice of the protocol's close-code
 * table (`matchcast/protocol`, SPEC section 7) as reactions. Both are plain data, so the SDK still
 * bundles for browsers.
 */
import { CloseCode } from '../protocol/close-codes.js'
import type { MatchcastErrorCode } from './errors.js'

/**
 * - `resume`: reconnect after a back-off and resume from the last applied seq.
 * - `new-token`: ask `token()` again and reconnect at once; a second 4001 in a row stops the room.
 * - `slow-down`: like `resume`, with a delay drawn over the whole back-off window.
 * - `reject`: reject the command whose frame caused the close, then `resume`.
 * - `stop`: stop the room and report the error.
 */
export type Reaction = 'resume' | 'new-token' | 'slow-down' | 'reject' | 'stop'

const { unauthorized, forbidden, notFound, tooManyConnections, rateLimited, payloadTooLarge, messageTooBig } = CloseCode

/** Close code → reaction and the error it reports. A code not listed (1001, 1006, 1011, 4011, 4012…) resumes. */
export const CLOSE_REACTIONS: ReadonlyMap<number, readonly [Reaction, MatchcastErrorCode?]> = new Map<number, readonly [Reaction, MatchcastErrorCode?]>([
  [unauthorized.code, ['new-token', unauthorized.reason]],
  [forbidden.code, ['stop', forbidden.reason]],
  [notFound.code, ['stop', notFound.reason]],
  [tooManyConnections.code, ['stop', tooManyConnections.reason]],
  [rateLimited.code, ['slow-down']],
  [payloadTooLarge.code, ['reject', payloadTooLarge.reason]],
  // The transport's own cap (`transportMaxPayloadBytes`): the same advice as 4010.
  [messageTooBig.code, ['reject', payloadTooLarge.reason]]
])

/** The reaction to a close code. */
export function reactionTo (code: number): readonly [Reaction, MatchcastErrorCode?] {
  return CLOSE_REACTIONS.get(code) ?? ['resume']
}
