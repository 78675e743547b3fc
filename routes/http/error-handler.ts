/**
 * The one error shape of the HTTP routes, `{statusCode, code, error, message}`: coded errors keep
 * their code, schema failures name the failing field, match-command failures map to their HTTP
 * status, and every 5xx hides its message (it is logged instead).
 */
import { STATUS_CODES } from 'node:http'
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import type { ErrorBody } from '../../schemas/common.js'
import type { WsErrorCode } from '../../schemas/messages.js'
import { BadRequestError, CommandError, ConflictError, ForbiddenError, INTERNAL_ERROR_CODE, InvalidStateError, StoreTimeoutError, ValidationError } from '../../lib/errors.js'

type ErrorFactory = new (message: string) => FastifyError

/** How a match-command failure (`CommandError`) answers over HTTP; `internal` is a 500. */
export const COMMAND_HTTP_ERRORS: Readonly<Record<Exclude<WsErrorCode, 'internal'>, ErrorFactory>> = {
  forbidden: ForbiddenError,
  invalid_state: InvalidStateError,
  conflict: ConflictError,
  invalid_message: BadRequestError,
  invalid_json: BadRequestError,
  unknown_type: BadRequestError
}

function body (statusCode: number, code: string, message: string): ErrorBody {
  return { statusCode, code, error: STATUS_CODES[statusCode] ?? 'Error', message }
}

interface ValidationIssue {
  keyword: string
  instancePath: string
  message?: string
  params: Record<string, unknown>
}

/**
 * The first failure, naming its field: `body/scores/u-a must be >= 0`. A field that
 * `additionalProperties: false` forbids reads `body/extra is not allowed` (TypeBox reports it as
 * "schema is false", ajv on the parent object).
 */
function validationMessage (issue: ValidationIssue, context: string): string {
  if (issue.keyword === 'boolean') return `${context}${issue.instancePath} is not allowed`
  if (issue.keyword === 'additionalProperties' && typeof issue.params.additionalProperty === 'string') {
    return `${context}${issue.instancePath}/${issue.params.additionalProperty} is not allowed`
  }
  return `${context}${issue.instancePath} ${issue.message ?? 'is invalid'}`
}

/** The error shape of `err`, and whether it is a server fault (to be logged, its message hidden). */
export function toErrorBody (err: unknown): { body: ErrorBody, internal: boolean } {
  if (err instanceof CommandError) {
    if (err.code === 'internal') return { body: body(500, INTERNAL_ERROR_CODE, STATUS_CODES[500]!), internal: true }
    const mapped = new COMMAND_HTTP_ERRORS[err.code](err.message)
    return { body: body(mapped.statusCode!, mapped.code, mapped.message), internal: false }
  }
  const e = err as Partial<FastifyError> & { validation?: ValidationIssue[], validationContext?: string }
  if (Array.isArray(e.validation) && e.validation.length > 0) {
    const message = validationMessage(e.validation[0]!, e.validationContext ?? 'request')
    return { body: body(400, new ValidationError(message).code, message), internal: false }
  }
  // A store that did not answer in time: 503 with its own code, so clients know to retry later.
  if (err instanceof StoreTimeoutError) return { body: body(503, err.code, 'the store did not answer in time; retry later'), internal: true }
  const statusCode = typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 600 ? e.statusCode : 500
  if (statusCode >= 500) return { body: body(statusCode, INTERNAL_ERROR_CODE, STATUS_CODES[statusCode] ?? 'Error'), internal: true }
  return { body: body(statusCode, e.code ?? `HTTP_${statusCode}`, e.message ?? ''), internal: false }
}

/** `setErrorHandler` handler: answers the one error shape; server faults are logged with `{ err }`. */
export function errorHandler (err: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const { body, internal } = toErrorBody(err)
  if (internal) request.log.error({ err }, 'request failed')
  return reply.code(body.statusCode).type('application/json; charset=utf-8').send(body)
}

/**
 * `work`'s result as a 200 response, or the response of a client error (4xx) it threw, so an
 * idempotency key can keep a refusal like a success. Server faults propagate.
 */
export async function answerOf (work: () => Promise<unknown>): Promise<{ statusCode: number, body: unknown }> {
  try {
    return { statusCode: 200, body: await work() }
  } catch (err) {
    const { body, internal } = toErrorBody(err)
    if (internal) throw err
    return { statusCode: body.statusCode, body }
  }
}
