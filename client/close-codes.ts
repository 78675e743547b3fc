/**
 * What the SDK does when the server closes a room's socket: the advice column of the close-code
 * table (SPEC section 7), as data. Kept here, free of server code, so the SDK bundles for browsers.
 */
import type { MatchcastErrorCode } from './errors.js'

/**
 * - `resume`: reconnect after a back-off and resume from the last applied seq.
 * - `new-token`: ask `token()` again and reconnect at once; a second 4001 in a row stops the room.
 * - `slow-down`: like `resume`, with a delay drawn over the whole back-off window.
 * - `reject`: reject the command whose frame caused the close, then `resume`.
 * - `stop`: stop the room and report the error.
 */
export type Reaction = 'resume' | 'new-token' | 'slow-down' | 'reject' | 'stop'

/** Close code → reaction and the error it reports. A code not listed (1001, 1006, 1011, 4011, 4012…) resumes. */
export const CLOSE_REACTIONS: ReadonlyMap<number, readonly [Reaction, MatchcastErrorCode?]> = new Map([
  [4001, ['new-token', 'unauthorized']],
  [4003, ['stop', 'forbidden']],
  [4004, ['stop', 'not_found']],
  [4008, ['stop', 'too_many_connections']],
  [4009, ['slow-down']],
  [4010, ['reject', 'payload_too_large']],
  // The transport's own cap (`transportMaxPayloadBytes`): the same advice as 4010.
  [1009, ['reject', 'payload_too_large']]
])

/** The reaction to a close code. */
export function reactionTo (code: number): readonly [Reaction, MatchcastErrorCode?] {
  return CLOSE_REACTIONS.get(code) ?? ['resume']
}
