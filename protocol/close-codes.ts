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

/**
 * Every close code the server (or its transport) sends, under camelCase keys (`CloseCode.rateLimited`);
 * `closeCodeByNumber(4009)` and `closeCodeByName('rate_limited')` find the same entry.
 */
export const CloseCode = {
  normal: { code: 1000, reason: 'normal', name: 'normal', reconnect: 'no', when: 'The client left.', advice: 'Nothing to do.' },
  shutdown: {
    code: 1001, reason: 'shutdown', name: 'shutdown', reconnect: 'yes',
    when: 'The server is shutting down (pending batches were flushed first).',
    advice: 'Reconnect (another instance) with lastSeq and epoch.'
  },
  unauthorized: {
    code: 4001, reason: 'unauthorized', name: 'unauthorized', reconnect: 'with-new-token',
    when: 'No token, a bad signature, a wrong algorithm, an expired token or one without exp, iat/nbf in the future.',
    advice: 'Get a new token, then reconnect.'
  },
  forbidden: {
    code: 4003, reason: 'forbidden', name: 'forbidden', reconnect: 'no',
    when: 'Not a member of this match or tournament, or a command the role may not send.',
    advice: 'Do not reconnect.'
  },
  notFound: { code: 4004, reason: 'not_found', name: 'not_found', reconnect: 'no', when: 'The match or tournament does not exist.', advice: 'Do not reconnect.' },
  tooManyConnections: {
    code: 4008, reason: 'too_many_connections', name: 'too_many_connections', reconnect: 'after-a-connection-closes',
    when: 'More than maxConnectionsPerUser open connections of this user (across instances with Redis).',
    advice: 'Do not reconnect until one of your connections closes.'
  },
  rateLimited: {
    code: 4009, reason: 'rate_limited', name: 'rate_limited', reconnect: 'after-backoff',
    when: 'The user\'s message rate is over messagesPerSecond / burst (token bucket, per user, across instances).',
    advice: 'Reconnect after a back-off.'
  },
  payloadTooLarge: {
    code: 4010, reason: 'payload_too_large', name: 'payload_too_large', reconnect: 'yes',
    when: 'A frame larger than maxPayloadBytes.',
    advice: 'Do not resend that frame; reconnect with lastSeq.'
  },
  heartbeatTimeout: {
    code: 4011, reason: 'heartbeat_timeout', name: 'heartbeat_timeout', reconnect: 'yes',
    when: 'A heartbeat ping was not answered.', advice: 'Reconnect with lastSeq.'
  },
  internal: {
    code: 1011, reason: 'internal_error', name: 'internal_error', reconnect: 'after-backoff',
    when: 'The server failed while admitting the connection (e.g. its store did not answer).',
    advice: 'Reconnect after a back-off.'
  },
  slowConsumer: {
    code: 4012, reason: 'slow_consumer', name: 'slow_consumer', reconnect: 'yes',
    when: 'The socket\'s send buffer stayed above the hard limit.', advice: 'Reconnect with lastSeq.'
  },
  // Sent by the transport (`ws`) itself, without a reason, for a frame it cannot accept.
  protocolError: {
    code: 1002, reason: '', name: 'protocol_error', reconnect: 'after-backoff',
    when: 'A frame that breaks the WebSocket protocol (unmasked, reserved opcode or bits, bad close code): a client bug.',
    advice: 'Fix the client; reconnect after a back-off.'
  },
  invalidPayload: {
    code: 1007, reason: '', name: 'invalid_payload', reconnect: 'yes',
    when: 'A text frame (or close reason) that is not valid UTF-8.', advice: 'Do not resend that frame; reconnect with lastSeq.'
  },
  policyViolation: {
    code: 1008, reason: '', name: 'policy_violation', reconnect: 'yes',
    when: 'A message split into more fragments than the transport buffers (16384).', advice: 'Do not resend it that way; reconnect with lastSeq.'
  },
  messageTooBig: {
    code: 1009, reason: '', name: 'message_too_big', reconnect: 'yes',
    when: 'A frame over the transport\'s cap, transportMaxPayloadBytes.', advice: 'Do not resend that frame; reconnect with lastSeq.'
  }
} as const satisfies Record<string, CloseCodeEntry>
export type CloseCodeName = keyof typeof CloseCode

/**
 * 1006 is never sent: a client observes it when the connection was cut without a closing
 * handshake (a network failure, a peer that did not finish closing within closeGraceMs, a ping flood).
 */
export const AbnormalClosure = {
  code: 1006, reason: '', name: 'abnormal_closure', reconnect: 'after-backoff',
  when: 'The connection was cut without a closing handshake.', advice: 'Reconnect with lastSeq after a back-off.'
} as const satisfies CloseCodeEntry

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
