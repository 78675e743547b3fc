import type { ErrorDetail, WsErrorCode } from '../schemas/frames.js'

/**
 * Why a command failed or a room stopped: a command's error reply (`WsErrorCode`), the close that
 * stopped the room or rejected a command, or the SDK's own reasons.
 */
export type MatchcastErrorCode =
  | WsErrorCode
  /** Closed 4001 again after a fresh token. */
  | 'unauthorized'
  /** Closed 4004: the match or tournament does not exist. */
  | 'not_found'
  /** Closed 4008: the user has too many open connections. */
  | 'too_many_connections'
  /** Closed 4010 (or 1009): the command's frame is larger than the server accepts. */
  | 'payload_too_large'
  /** The room was closed before the command's reply arrived: it may or may not have been applied. */
  | 'closed'
  /**
   * The command's reply was lost and it was first sent longer ago than `commandIdTtlMs`: the server
   * may have forgotten its id, so it is not sent again; it may or may not have been applied.
   */
  | 'expired'
  /** `connect()` was given a bad option (the message names it). */
  | 'invalid_options'

/** Every error the SDK reports: a rejected `send`, a room's `error` event, a bad option. */
export class MatchcastError extends Error {
  readonly code: MatchcastErrorCode
  /** The WebSocket close code behind it, when a close caused it. */
  readonly closeCode: number | undefined
  /** For `invalid_message`: the failing fields, as the server named them. */
  readonly details: ErrorDetail[] | undefined

  constructor (code: MatchcastErrorCode, message: string, extra: { closeCode?: number | undefined, details?: ErrorDetail[] } = {}) {
    super(message)
    this.name = 'MatchcastError'
    this.code = code
    this.closeCode = extra.closeCode
    this.details = extra.details
  }
}
