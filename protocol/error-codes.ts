/** The codes of the WebSocket `{type:"error"}` frame. Plain data: safe to import in a browser. */

/** Error codes of `{type:"error"}` frames, with the default message of each: the one list of them. */
export const WS_ERRORS = {
  invalid_json: 'frame is not valid JSON',
  invalid_message: 'command does not match its schema',
  unknown_type: 'unknown command type',
  invalid_state: 'command not allowed in the match\'s current state',
  conflict: 'the match changed concurrently; reload and retry',
  forbidden: 'your role may not send this command',
  internal: 'internal error'
} as const
export type WsErrorCode = keyof typeof WS_ERRORS
export const WS_ERROR_CODES = Object.keys(WS_ERRORS) as WsErrorCode[]
