import { Type, type Static } from 'typebox'
import { DEFAULT_BACKPRESSURE } from './connection.js'

export const DEFAULT_HEARTBEAT_INTERVAL_MS = 25_000
export const DEFAULT_CLOSE_GRACE_MS = 1000
export const DEFAULT_TRANSPORT_MAX_PAYLOAD = 1024 * 1024

export const WebsocketOptions = Type.Object({
  heartbeat: Type.Object({
    /** The server pings every socket this often; a socket that has not answered the previous ping is closed 4011. 0 turns heartbeats off. @default 25000 */
    intervalMs: Type.Integer({ minimum: 0, default: DEFAULT_HEARTBEAT_INTERVAL_MS })
  }, { default: {}, additionalProperties: false }),
  /** When set, an upgrade whose `Origin` is not listed is refused with HTTP 403 before the upgrade. @default unset (any origin) */
  allowedOrigins: Type.Optional(Type.Array(Type.String({ minLength: 1 }))),
  /** How long a closing peer has to finish the closing handshake before its socket is cut. @default 1000 */
  closeGraceMs: Type.Integer({ minimum: 1, default: DEFAULT_CLOSE_GRACE_MS }),
  /** The transport's hard frame cap (`ws` `maxPayload`, closes 1009); must be above `rateLimit.maxPayloadBytes`, so that limit answers 4010. @default 1048576, or twice `rateLimit.maxPayloadBytes` when that is not below it */
  transportMaxPayloadBytes: Type.Integer({ minimum: 1, default: DEFAULT_TRANSPORT_MAX_PAYLOAD }),
  /** Slow consumers, by a socket's send buffer (`bufferedAmount`). */
  backpressure: Type.Object({
    /** Above this many buffered bytes a socket skips non-terminal events, then gets a snapshot with `resync: true` once drained. @default 1048576 */
    highWaterMark: Type.Integer({ minimum: 1, default: DEFAULT_BACKPRESSURE.highWaterMark }),
    /** A socket above this many buffered bytes for `graceMs` is closed 4012 (not below `highWaterMark`). @default 4194304 */
    hardLimit: Type.Integer({ minimum: 1, default: DEFAULT_BACKPRESSURE.hardLimit }),
    /** How long a socket may stay above `hardLimit`. @default 5000 */
    graceMs: Type.Integer({ minimum: 1, default: DEFAULT_BACKPRESSURE.graceMs })
  }, { default: {}, additionalProperties: false })
}, { additionalProperties: false })
export type WebsocketOptions = Static<typeof WebsocketOptions>
