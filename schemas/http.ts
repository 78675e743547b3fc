/**
 * Schemas of the HTTP side routes: they validate requests, shape responses and generate the
 * OpenAPI document (`/docs/json`). Schemas with an `$id` are added once with `addSchema` and
 * referenced with `Type.Ref`, so they become named OpenAPI components.
 */
import { Type, type Static } from 'typebox'
import {
  Certificate, ErrorBody, EXAMPLE_CODE, EXAMPLE_TIMES, exampleOf, Id, IdLike, Match, MatchState, Payout, PayoutStatus, Reason, Role, Scores, Text
} from './common.js'

/** Every `$id` schema the routes reference, in dependency order (referenced ones first). */
export const SHARED_SCHEMAS = [ErrorBody, Role, MatchState, PayoutStatus, Match, Payout, Certificate] as const

export const MatchRef = Type.Ref('Match')
export const PayoutRef = Type.Ref('Payout')
export const CertificateRef = Type.Ref('Certificate')

// --- parameters and headers ------------------------------------------------------------------

export const PayoutParams = Type.Object({ payoutId: IdLike('p-7f3a') }, { additionalProperties: false })
export type PayoutParams = Static<typeof PayoutParams>

export const CertificateParams = Type.Object({ certificateId: IdLike('c-91d2') }, { additionalProperties: false })
export type CertificateParams = Static<typeof CertificateParams>

/**
 * Any string is accepted: a code that names no certificate simply verifies as `valid: false`.
 * (A full code is 86 characters; Fastify refuses path parameters over `maxParamLength`, 100 by default, with a 414.)
 */
export const VerifyParams = Type.Object({
  code: Text({
    minLength: 1,
    maxLength: 512,
    example: '7K3M-Q9XD-2HWP',
    description: 'The certificate\'s short code (`7K3M-Q9XD-2HWP`; case and hyphens optional, I and L read as 1, O as 0) or its full code (86 characters of base64url).'
  })
}, { additionalProperties: false })
export type VerifyParams = Static<typeof VerifyParams>

export const IdempotencyHeaders = Type.Object({
  'idempotency-key': Type.Optional(Text({
    minLength: 1,
    maxLength: 255,
    // Visible ASCII: narrower than Text's own pattern.
    pattern: '^[\\x21-\\x7E]+$',
    example: 'approve-p-7f3a-1',
    description: 'Makes the request safe to retry: the same key with the same body answers the first response again ' +
      '(with `Idempotent-Replayed: true`); with another body it is a 422; while the first is still running, a 409 ' +
      '(if its instance crashed, only until `http.idempotencyLeaseMs` has passed: then the request runs again). Keys are scoped to the user and kept for `http.idempotencyTtlMs` (default 24 h).'
  }))
})
export type IdempotencyHeaders = Static<typeof IdempotencyHeaders>

/** The `Idempotent-Replayed` response header, documented on the payout routes. */
export const ReplayedHeader = {
  'idempotent-replayed': { type: 'string', enum: ['true'], description: 'Present when this is the stored response of an earlier request with the same Idempotency-Key.' }
} as const

// --- bodies ----------------------------------------------------------------------------------

export const FinalizeBody = Type.Object({
  scores: Scores,
  winnerId: Type.Optional(Id)
}, {
  additionalProperties: false,
  description: 'Final scores; without `winnerId` the highest score wins (a tie is refused).',
  example: { scores: { 'u-a': 3, 'u-b': 1 } }
})
export type FinalizeBody = Static<typeof FinalizeBody>

export const RejectBody = Type.Object({
  reason: Reason
}, { additionalProperties: false, example: { reason: 'winner account failed the identity check' } })
export type RejectBody = Static<typeof RejectBody>

// --- responses -------------------------------------------------------------------------------

const PAYOUT_EXAMPLE = exampleOf(Payout)

export const FinalizeResponse = Type.Object({
  match: MatchRef,
  certificate: Type.Object({ id: Id, code: Type.String(), shortCode: Type.String() }, { additionalProperties: false }),
  payout: Type.Optional(PayoutRef)
}, {
  additionalProperties: false,
  description: 'The completed match, the winner\'s certificate and, for a match with a prize, its pending payout.',
  example: {
    match: {
      id: 'm1',
      tournamentId: 't1',
      state: 'completed',
      participants: ['u-a', 'u-b'],
      scores: { 'u-a': 3, 'u-b': 1 },
      winnerId: 'u-a',
      version: 4,
      prize: { amount: 5000, currency: 'USD' },
      startedAt: EXAMPLE_TIMES.started,
      completedAt: EXAMPLE_TIMES.completed
    },
    certificate: { id: 'c-91d2', code: EXAMPLE_CODE, shortCode: '7K3M-Q9XD-2HWP' },
    payout: PAYOUT_EXAMPLE
  }
})

export const PayoutResponse = Type.Object({ payout: PayoutRef }, {
  additionalProperties: false,
  description: 'The payout after the change.',
  headers: ReplayedHeader,
  example: { payout: { ...PAYOUT_EXAMPLE, status: 'approved', updatedAt: '2026-11-24T11:05:00.000Z' } }
})
export const PayoutList = Type.Object({ payouts: Type.Array(PayoutRef) }, {
  additionalProperties: false,
  description: 'The tournament\'s payouts, oldest first.',
  example: { payouts: [PAYOUT_EXAMPLE] }
})

export const VerifyResponse = Type.Object({
  valid: Type.Boolean({ description: 'The code names a certificate issued here, its signature checks, and it has not been revoked.' }),
  status: Type.Union([Type.Literal('valid'), Type.Literal('revoked'), Type.Literal('invalid')], {
    description: '`revoked`: the certificate is genuine, but a dispute led to another result or a cancellation (see its `revokedAt`, `revokedReason`); `invalid`: no certificate issued here has this code.'
  }),
  certificate: Type.Optional(CertificateRef)
}, {
  additionalProperties: false,
  description: 'The certificate the code names, with whether it stands.',
  example: { valid: true, status: 'valid', certificate: exampleOf(Certificate) }
})

export const CertificateList = Type.Object({ certificates: Type.Array(CertificateRef) }, {
  additionalProperties: false,
  description: 'The tournament\'s certificates in the order they were issued, revoked ones included.',
  example: { certificates: [exampleOf(Certificate)] }
})

export const CertificateKey = Type.Object({
  algorithm: Type.Literal('Ed25519'),
  keyId: Type.String({ description: 'RFC 7638 thumbprint of the key (SHA-256, base64url).' }),
  publicKeyPem: Type.String({ description: 'The public key, SPKI PEM (for `openssl pkeyutl -verify -pubin`, Node\'s `crypto.createPublicKey`).' }),
  jwk: Type.Object({
    kty: Type.Literal('OKP'),
    crv: Type.Literal('Ed25519'),
    x: Type.String(),
    kid: Type.String(),
    alg: Type.Literal('EdDSA'),
    use: Type.Literal('sig')
  }, { additionalProperties: false, description: 'The same key as a JSON Web Key.' }),
  signedBytes: Type.String({ description: 'What a certificate\'s `code` signs.' })
}, {
  additionalProperties: false,
  description: 'The key that signs certificate codes: anyone can check a certificate with it, without this server.',
  example: {
    algorithm: 'Ed25519',
    keyId: '1GOxdfyOyzwajpdctYG70RQLNuwR9-S3a3LU8QtlJkI',
    publicKeyPem: '-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA++wRs5nhJ7+gNwSm9S+HgKd8mwsCYzT26YIq8/PNS2I=\n-----END PUBLIC KEY-----\n',
    jwk: { kty: 'OKP', crv: 'Ed25519', x: '--wRs5nhJ7-gNwSm9S-HgKd8mwsCYzT26YIq8_PNS2I', kid: '1GOxdfyOyzwajpdctYG70RQLNuwR9-S3a3LU8QtlJkI', alg: 'EdDSA', use: 'sig' },
    signedBytes: 'The UTF-8 bytes of JSON.stringify(["matchcast-certificate/2", id, tournamentId, tournamentName, matchId, userId, scores as [userId, score] pairs, names as [userId, name] pairs, issuer, issuedAt]), pairs sorted by user id; `code` is the Ed25519 signature of those bytes, base64url.'
  }
})
export type CertificateKey = Static<typeof CertificateKey>

const Count = Type.Integer({ minimum: 0 })
const PayoutTotals = Type.Object({
  count: Count,
  amounts: Type.Record(Type.String(), Type.Integer(), { description: 'Sum of amounts per currency, in minor units.' })
}, { additionalProperties: false })

export const AnalyticsSummary = Type.Object({
  tournamentId: Id,
  matches: Type.Object({
    total: Count,
    byState: Type.Object({ scheduled: Count, live: Count, disputed: Count, completed: Count, cancelled: Count }, { additionalProperties: false })
  }, { additionalProperties: false }),
  participants: Type.Object({
    members: Count,
    inMatches: Type.Integer({ minimum: 0, description: 'Distinct users playing in at least one match.' })
  }, { additionalProperties: false, description: 'Members with the participant role, and distinct players of the matches.' }),
  players: Type.Array(Type.Object({
    userId: Id,
    name: Type.String({ description: 'Display name (the id for a user without one).' }),
    matches: Type.Integer({ minimum: 0, description: 'Matches the player is in, any state.' }),
    won: Type.Integer({ minimum: 0, description: 'Completed matches the player won.' })
  }, { additionalProperties: false }), { description: 'Every player of the tournament\'s matches, most wins first (then by id).' }),
  averageMatchDurationMs: Type.Union([Type.Number(), Type.Null()], { description: 'Mean of completedAt − startedAt over completed matches; null when there is none.' }),
  disputes: Type.Object({
    open: Type.Integer({ minimum: 0, description: 'Matches in the disputed state now.' })
  }, { additionalProperties: false }),
  payouts: Type.Object({
    total: Count,
    byStatus: Type.Object({ pending: PayoutTotals, approved: PayoutTotals, rejected: PayoutTotals }, { additionalProperties: false })
  }, { additionalProperties: false }),
  connections: Type.Object({
    instance: Type.Integer({ minimum: 0, description: 'Open room connections on this instance.' }),
    tournament: Type.Integer({ minimum: 0, description: 'Room subscriptions to this tournament\'s matches on this instance (a tournament room counts once per match).' })
  }, { additionalProperties: false }),
  generatedAt: Type.String({ format: 'date-time' })
}, {
  additionalProperties: false,
  description: 'The tournament\'s figures now.',
  example: {
    tournamentId: 't1',
    matches: { total: 3, byState: { scheduled: 1, live: 1, disputed: 0, completed: 1, cancelled: 0 } },
    participants: { members: 3, inMatches: 3 },
    averageMatchDurationMs: 2530000,
    disputes: { open: 0 },
    payouts: {
      total: 1,
      byStatus: { pending: { count: 1, amounts: { USD: 5000 } }, approved: { count: 0, amounts: {} }, rejected: { count: 0, amounts: {} } }
    },
    connections: { instance: 12, tournament: 9 },
    generatedAt: '2026-11-24T11:00:00.000Z'
  }
})
export type AnalyticsSummary = Static<typeof AnalyticsSummary>

/** A PDF file (the response body is raw bytes). */
export const PdfDocument = Type.Unsafe<Buffer>({ type: 'string', format: 'binary' })

export const Health = Type.Object({ status: Type.Literal('ok') }, { additionalProperties: false, description: 'The process serves requests.', example: { status: 'ok' } })

const CheckStatus = Type.Union([Type.Literal('up'), Type.Literal('down')])
export const Readiness = Type.Object({
  status: Type.Union([Type.Literal('ok'), Type.Literal('degraded'), Type.Literal('unavailable')], {
    description: '`unavailable` (503) when the store does not answer; `degraded` (200) when only Redis does not (limits then fall back to this instance).'
  }),
  checks: Type.Object({
    store: Type.Object({ status: CheckStatus, latencyMs: Type.Number(), message: Type.Optional(Type.String()) }, { additionalProperties: false }),
    redis: Type.Optional(Type.Object({
      status: CheckStatus,
      latencyMs: Type.Number(),
      message: Type.Optional(Type.String()),
      limiter: Type.Optional(Type.String({ description: 'Where the rate limiter keeps its counters now (e.g. `redis` or `memory`).' })),
      cluster: Type.Optional(Type.Object({
        state: Type.Union([Type.Literal('ok'), Type.Literal('fail')], { description: '`ok` when every slot is served (`cluster_state` of the nodes).' }),
        slotsServed: Type.Integer({ description: 'Slots served by a reachable primary, of 16384.' })
      }, { additionalProperties: false, description: 'On a Redis Cluster: whether every slot is served.' })),
      subscribers: Type.Optional(Type.Array(Type.Object({
        node: Type.String({ description: '`host:port` of the server, or of the cluster primary (one per shard in use).' }),
        status: CheckStatus,
        channels: Type.Integer({ description: 'Match channels subscribed on it.' })
      }, { additionalProperties: false }), { description: 'The pub/sub subscriber connections of this instance.' })),
      pendingChannels: Type.Optional(Type.Integer({ description: 'Watched match channels without a subscription right now (their shard is being found or reconnected).' }))
    }, { additionalProperties: false }))
  }, { additionalProperties: false })
}, {
  additionalProperties: false,
  description: 'Each dependency\'s check.',
  example: { status: 'ok', checks: { store: { status: 'up', latencyMs: 0.4 }, redis: { status: 'up', latencyMs: 0.9, limiter: 'redis' } } }
})
export type Readiness = Static<typeof Readiness>

const ERROR_DESCRIPTIONS = {
  400: 'Invalid request; the message names the failing field.',
  401: 'Missing, invalid or expired bearer token.',
  403: 'The user\'s role in the tournament does not allow this.',
  404: 'Not found.',
  409: 'The match is not in a state that allows this.',
  422: 'The Idempotency-Key was used with another request body.',
  429: 'Too many requests from this address to this route (`rateLimit.http`: 100 a minute by default); ' +
    'retry after the number of seconds in `retry-after`.',
  500: 'Internal error (details are logged, not returned).'
} as const
type ErrorStatus = keyof typeof ERROR_DESCRIPTIONS

/** What each status looks like, for the docs: code, reason phrase, a message matchcast sends. */
const ERROR_EXAMPLES: Record<ErrorStatus, [string, string, string]> = {
  400: ['MATCHCAST_ERR_VALIDATION', 'Bad Request', 'body/scores/u-a must be >= 0'],
  401: ['MATCHCAST_ERR_AUTH_UNAUTHORIZED', 'Unauthorized', 'The token has expired.'],
  403: ['MATCHCAST_ERR_AUTH_FORBIDDEN', 'Forbidden', 'organizers only'],
  404: ['MATCHCAST_ERR_NOT_FOUND', 'Not Found', 'match m9 does not exist'],
  409: ['MATCHCAST_ERR_MATCH_INVALID_STATE', 'Conflict', 'match.finalize is not allowed while the match is scheduled'],
  422: ['MATCHCAST_ERR_IDEMPOTENCY_MISMATCH', 'Unprocessable Entity', 'Idempotency-Key approve-p-7f3a-1 was used with another request body'],
  429: ['MATCHCAST_ERR_RATE_LIMITED', 'Too Many Requests', 'rate limit exceeded, retry in 1 minute'],
  500: ['MATCHCAST_ERR_INTERNAL', 'Internal Server Error', 'Internal Server Error']
}

/** An error response as Fastify and @fastify/swagger take it: the one error shape, and an example of this status. */
export interface ErrorResponse {
  description: string
  content: { 'application/json': { schema: ReturnType<typeof Type.Ref<'ErrorBody'>>, example: ErrorBody } }
}

/** Error responses of a route, each with the one error shape; `texts` replaces a status's description. */
export function errors (codes: ErrorStatus[], texts: Partial<Record<ErrorStatus, string>> = {}): Record<number, ErrorResponse> {
  return Object.fromEntries(codes.map((code) => {
    const [name, error, message] = ERROR_EXAMPLES[code]
    const content = { 'application/json': { schema: Type.Ref('ErrorBody'), example: { statusCode: code, code: name, error, message } } }
    return [code, { description: texts[code] ?? ERROR_DESCRIPTIONS[code], content }]
  }))
}

export { Certificate, MatchState, Payout, PayoutStatus }
