/**
 * Every coded error matchcast throws or sends, and the WebSocket close codes: one place each.
 */
import createError from '@fastify/error'
import { WS_ERRORS, type WsErrorCode } from '../protocol/error-codes.js'
import type { ErrorDetail } from '../schemas/frames.js'

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
/** A route matchcast would register is already served (by the host or twice); the message names it. */
export const RouteCollisionError = createError('MATCHCAST_ERR_ROUTE_COLLISION', '%s', 500)
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

// --- WebSocket close codes (values fixed by the protocol; browser-safe in protocol/) -------

export { CloseCode, type CloseCodeInfo, type CloseCodeName } from '../protocol/close-codes.js'
