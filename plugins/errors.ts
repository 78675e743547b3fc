/**
 * Every coded error matchcast throws or sends, and the WebSocket close codes: one place each.
 */
import createError from '@fastify/error'
import type { WsErrorCode } from '../schemas/messages.js'

// --- HTTP / registration errors (stable `code`, HTTP status) --------------------------------

/** A plugin option failed validation at registration; the message names the option. */
export const InvalidOptionsError = createError('MATCHCAST_ERR_INVALID_OPTS', 'Invalid matchcast option %s', 500)
export const UnauthorizedError = createError('MATCHCAST_ERR_AUTH_UNAUTHORIZED', '%s', 401)
export const ForbiddenError = createError('MATCHCAST_ERR_AUTH_FORBIDDEN', '%s', 403)
export const NotFoundError = createError('MATCHCAST_ERR_NOT_FOUND', '%s', 404)
export const InvalidStateError = createError('MATCHCAST_ERR_MATCH_INVALID_STATE', '%s', 409)
export const ConflictError = createError('MATCHCAST_ERR_CONFLICT', '%s', 409)
export const BadRequestError = createError('MATCHCAST_ERR_BAD_REQUEST', '%s', 400)
/** The broker's backend (Redis) did not answer: match events could not be sequenced. */
export const BrokerUnavailableError = createError('MATCHCAST_ERR_BROKER_UNAVAILABLE', '%s', 503)
/**
 * A store call did not settle within `storeTimeoutMs`. `pending` is the call, still running: a
 * write that timed out may yet apply.
 */
export const StoreTimeoutError = createError('MATCHCAST_ERR_STORE_TIMEOUT', '%s', 503)
export type StoreTimeout = InstanceType<typeof StoreTimeoutError> & { readonly pending: Promise<unknown> }
/** Too many requests (HTTP side routes) or WebSocket upgrade attempts from one address. */
export const RateLimitedError = createError('MATCHCAST_ERR_RATE_LIMITED', '%s', 429)
/** A request that failed its schema; the message names the field, e.g. `body/scores/u-a must be >= 0`. */
export const ValidationError = createError('MATCHCAST_ERR_VALIDATION', '%s', 400)
/** A payout in a state the requested change cannot start from (e.g. approving a rejected payout). */
export const PayoutStateError = createError('MATCHCAST_ERR_PAYOUT_INVALID_STATE', '%s', 409)
/** An `Idempotency-Key` reused with another request body. */
export const IdempotencyMismatchError = createError('MATCHCAST_ERR_IDEMPOTENCY_MISMATCH', '%s', 422)
/** An `Idempotency-Key` whose first request is still being processed. */
export const IdempotencyInFlightError = createError('MATCHCAST_ERR_IDEMPOTENCY_IN_FLIGHT', '%s', 409)

// --- WebSocket command errors -------------------------------------------------------------

/** Error codes of `{type:"error"}` frames, with the default message of each. */
export const WS_ERRORS: Readonly<Record<WsErrorCode, string>> = {
  invalid_json: 'frame is not valid JSON',
  invalid_message: 'command does not match its schema',
  unknown_type: 'unknown command type',
  invalid_state: 'command not allowed in the match\'s current state',
  conflict: 'the match changed concurrently; reload and retry',
  forbidden: 'your role may not send this command',
  internal: 'internal error'
}

/** A command failure that is reported to the client as an error frame. */
export class CommandError extends Error {
  readonly code: WsErrorCode
  constructor (code: WsErrorCode, message: string = WS_ERRORS[code]) {
    super(message)
    this.name = 'CommandError'
    this.code = code
  }
}

// --- WebSocket close codes (values fixed by the protocol) ---------------------------------

export interface CloseCodeInfo {
  /** The numeric close code. */
  readonly code: number
  /** The close reason sent on the wire: a short machine-readable word. */
  readonly reason: string
  /** Whether a client should reconnect, and how. */
  readonly reconnect: 'no' | 'yes' | 'after-backoff' | 'with-new-token' | 'after-a-connection-closes'
}

export const CloseCode = {
  /** Client left. */
  normal: { code: 1000, reason: 'normal', reconnect: 'no' },
  /** Server shutting down: reconnect (another instance) with `lastSeq`. */
  shutdown: { code: 1001, reason: 'shutdown', reconnect: 'yes' },
  /** No token, bad signature, expired, wrong algorithm. */
  unauthorized: { code: 4001, reason: 'unauthorized', reconnect: 'with-new-token' },
  /** Not a member, or a command the role may not send. */
  forbidden: { code: 4003, reason: 'forbidden', reconnect: 'no' },
  /** Match or tournament does not exist. */
  notFound: { code: 4004, reason: 'not_found', reconnect: 'no' },
  /** Too many open connections of this user. */
  tooManyConnections: { code: 4008, reason: 'too_many_connections', reconnect: 'after-a-connection-closes' },
  /** Message rate over the token bucket. */
  rateLimited: { code: 4009, reason: 'rate_limited', reconnect: 'after-backoff' },
  /** Frame larger than `maxPayloadBytes`. */
  payloadTooLarge: { code: 4010, reason: 'payload_too_large', reconnect: 'yes' },
  /** Heartbeat missed. */
  heartbeatTimeout: { code: 4011, reason: 'heartbeat_timeout', reconnect: 'yes' },
  /** The server failed while admitting the connection (e.g. its store did not answer). */
  internal: { code: 1011, reason: 'internal_error', reconnect: 'after-backoff' },
  /** Slow consumer: send buffer stayed above the hard limit. */
  slowConsumer: { code: 4012, reason: 'slow_consumer', reconnect: 'yes' }
} as const satisfies Record<string, CloseCodeInfo>
export type CloseCodeName = keyof typeof CloseCode
