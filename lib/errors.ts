/**
 * Every coded error matchcast throws or sends, and the WebSocket close codes: one place each.
 */
import createError from '@fastify/error'
import { WS_ERRORS, type ErrorDetail, type WsErrorCode } from '../schemas/frames.js'

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
/** The code of every 5xx answer: its message is hidden from the client (the error is logged). */
export const INTERNAL_ERROR_CODE = 'MATCHCAST_ERR_INTERNAL'

/** A call to the limiter's shared store (Redis) that took longer than its timeout. */
export class LimiterTimeoutError extends Error {
  constructor (ms: number) {
    super(`limiter store did not answer within ${ms} ms`)
    this.name = 'LimiterTimeoutError'
  }
}

// --- WebSocket command errors -------------------------------------------------------------

export { WS_ERRORS }

/** A command failure that is reported to the client as an error frame. */
export class CommandError extends Error {
  readonly code: WsErrorCode
  /** For `invalid_message`: the failing fields, sent as the error frame's `details`. */
  readonly details: ErrorDetail[] | undefined
  constructor (code: WsErrorCode, message: string = WS_ERRORS[code], details?: ErrorDetail[]) {
    super(message)
    this.name = 'CommandError'
    this.code = code
    this.details = details
  }
}

// --- WebSocket close codes (values fixed by the protocol) ---------------------------------

export interface CloseCodeInfo {
  /** The numeric close code. */
  readonly code: number
  /** The close reason sent on the wire: a short machine-readable word (empty for the codes the transport sends by itself). */
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
  slowConsumer: { code: 4012, reason: 'slow_consumer', reconnect: 'yes' },
  // Sent by the transport (`ws`) itself, without a reason, for a frame it cannot accept.
  /** A frame that breaks the WebSocket protocol (unmasked, reserved opcode or bits, bad close code): a client bug. */
  protocolError: { code: 1002, reason: '', reconnect: 'after-backoff' },
  /** A text frame (or close reason) that is not valid UTF-8: do not resend that frame. */
  invalidPayload: { code: 1007, reason: '', reconnect: 'yes' },
  /** A message split into more fragments than the transport buffers: do not resend it so. */
  policyViolation: { code: 1008, reason: '', reconnect: 'yes' },
  /** A frame over the transport's cap, `transportMaxPayloadBytes`: do not resend that frame. */
  messageTooBig: { code: 1009, reason: '', reconnect: 'yes' }
} as const satisfies Record<string, CloseCodeInfo>
export type CloseCodeName = keyof typeof CloseCode
