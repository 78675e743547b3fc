/**
 * The WebSocket close codes of the protocol (values fixed by SPEC section 7), with what a client
 * should do after each. Plain data: safe to import in a browser.
 */

/** What a client should do after a close. */
export type Reconnect = 'no' | 'yes' | 'after-backoff' | 'with-new-token' | 'after-a-connection-closes'

export interface CloseCodeInfo {
  /** The numeric close code. */
  readonly code: number
  /** The close reason sent on the wire: a short machine-readable word (empty for the codes the transport sends by itself). */
  readonly reason: string
  /** Whether a client should reconnect, and how. */
  readonly reconnect: Reconnect
}

/** A close code as the protocol documents it: its snake_case name and the advice to a client. */
export interface CloseCodeEntry extends CloseCodeInfo {
  /** The code's snake_case name: the wire `reason` when the server sends one, else the name the README uses. */
  readonly name: string
  /** When it happens and what a client should do, in one sentence each. */
  readonly when: string
  readonly advice: string
}

/** An entry whose wire reason is its name. */
function sent<C extends number, N extends string, R extends Reconnect> (code: C, name: N, reconnect: R, when: string, advice: string) {
  return { code, reason: name, name, reconnect, when, advice }
}

/** An entry the transport sends by itself, without a reason. */
function bare<C extends number, N extends string, R extends Reconnect> (code: C, name: N, reconnect: R, when: string, advice: string) {
  return { code, reason: '' as const, name, reconnect, when, advice }
}

/**
 * Every close code the server (or its transport) sends, under camelCase keys (`CloseCode.rateLimited`);
 * `closeCodeByNumber(4009)` and `closeCodeByName('rate_limited')` find the same entry.
 */
export const CloseCode = {
  normal: sent(1000, 'normal', 'no', 'The client left.', 'Nothing to do.'),
  shutdown: sent(1001, 'shutdown', 'yes',
    'The server is shutting down (pending batches were flushed first).',
    'Reconnect (another instance) with lastSeq and epoch.'),
  unauthorized: sent(4001, 'unauthorized', 'with-new-token',
    'No token, a bad signature, a wrong algorithm, an expired token or one without exp, iat/nbf in the future.',
    'Get a new token, then reconnect.'),
  forbidden: sent(4003, 'forbidden', 'no',
    'Not a member of this match or tournament, or a command the role may not send.',
    'Do not reconnect.'),
  notFound: sent(4004, 'not_found', 'no', 'The match or tournament does not exist.', 'Do not reconnect.'),
  tooManyConnections: sent(4008, 'too_many_connections', 'after-a-connection-closes',
    'More than maxConnectionsPerUser open connections of this user (across instances with Redis).',
    'Do not reconnect until one of your connections closes.'),
  rateLimited: sent(4009, 'rate_limited', 'after-backoff',
    'The user\'s message rate is over messagesPerSecond / burst (token bucket, per user, across instances).',
    'Reconnect after a back-off.'),
  payloadTooLarge: sent(4010, 'payload_too_large', 'yes', 'A frame larger than maxPayloadBytes.', 'Do not resend that frame; reconnect with lastSeq.'),
  heartbeatTimeout: sent(4011, 'heartbeat_timeout', 'yes', 'A heartbeat ping was not answered.', 'Reconnect with lastSeq.'),
  internal: sent(1011, 'internal_error', 'after-backoff',
    'The server failed while admitting the connection (e.g. its store did not answer).',
    'Reconnect after a back-off.'),
  slowConsumer: sent(4012, 'slow_consumer', 'yes', 'The socket\'s send buffer stayed above the hard limit.', 'Reconnect with lastSeq.'),
  // Sent by the transport (`ws`) itself, without a reason, for a frame it cannot accept.
  protocolError: bare(1002, 'protocol_error', 'after-backoff',
    'A frame that breaks the WebSocket protocol (unmasked, reserved opcode or bits, bad close code): a client bug.',
    'Fix the client; reconnect after a back-off.'),
  invalidPayload: bare(1007, 'invalid_payload', 'yes',
    'A text frame (or close reason) that is not valid UTF-8.',
    'Do not resend that frame; reconnect with lastSeq.'),
  policyViolation: bare(1008, 'policy_violation', 'yes',
    'A message split into more fragments than the transport buffers (16384).',
    'Do not resend it that way; reconnect with lastSeq.'),
  messageTooBig: bare(1009, 'message_too_big', 'yes',
    'A frame over the transport\'s cap, transportMaxPayloadBytes.',
    'Do not resend that frame; reconnect with lastSeq.')
} as const satisfies Record<string, CloseCodeEntry>
export type CloseCodeName = keyof typeof CloseCode

/**
 * 1006 is never sent: a client observes it when the connection was cut without a closing
 * handshake (a network failure, a peer that did not finish closing within closeGraceMs, a ping flood).
 */
export const AbnormalClosure = bare(1006, 'abnormal_closure', 'after-backoff',
  'The connection was cut without a closing handshake.',
  'Reconnect with lastSeq after a back-off.') satisfies CloseCodeEntry

const byNumber = new Map<number, CloseCodeEntry>([...Object.values(CloseCode), AbnormalClosure].map((entry) => [entry.code, entry]))
const byName = new Map<string, CloseCodeEntry>([...byNumber.values()].map((entry) => [entry.name, entry]))

/** The entry of a close code a client observed (1006 included); `undefined` for a code the protocol does not use. */
export function closeCodeByNumber (code: number): CloseCodeEntry | undefined {
  return byNumber.get(code)
}

/** The entry of a snake_case close code name (`'rate_limited'`, `'abnormal_closure'`…). */
export function closeCodeByName (name: string): CloseCodeEntry | undefined {
  return byName.get(name)
}
