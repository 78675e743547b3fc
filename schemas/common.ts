import { Type, type Static, type TSchema, type TString, type TStringOptions } from 'typebox'

/**
 * What free text may not hold: NUL, which PostgreSQL stores in neither `text` nor `jsonb`, and
 * UTF-16 surrogates that are not half of a pair: they are not Unicode, and UTF-8 would store them
 * altered (as U+FFFD). TypeBox matches patterns with the `u` flag, so a pair (an emoji) is one
 * character and passes.
 */
export const TEXT_PATTERN = '^[^\\u0000\\uD800-\\uDFFF]*$'

/**
 * A free-text string of a request or command (reason, name, code, key): any Unicode text that
 * every store keeps exactly. `pattern` may narrow it further (e.g. visible ASCII), never widen it:
 * a narrower pattern must itself refuse NUL and surrogates.
 */
export function Text (options: Omit<TStringOptions, 'format'> = {}): TString {
  return Type.String({ pattern: TEXT_PATTERN, ...options })
}

/**
 * An opaque identifier: user, tournament, match, certificate, payout. At most 100 characters, the
 * longest path parameter Fastify's router accepts by default (`maxParamLength`).
 */
export const Id = IdOf()

/** An `Id` with a description for the docs. */
export function IdOf (description?: string): TString {
  return Type.String({ minLength: 1, maxLength: 100, pattern: '^[A-Za-z0-9_.:-]+$', ...(description !== undefined && { description }) })
}

/** An `Id` with the example the docs show for it (`m1`, `u-a`…). */
export function IdLike (example: string): TString {
  return Type.String({ minLength: 1, maxLength: 100, pattern: '^[A-Za-z0-9_.:-]+$', example })
}

/** The `example` a schema carries for the docs, typed as the schema's value. */
export function exampleOf<T extends TSchema> (schema: T): Static<T> {
  return (schema as { example?: unknown }).example as Static<T>
}

/** When the docs' examples happened. */
export const EXAMPLE_TIMES = { started: '2026-11-24T10:00:00.000Z', completed: '2026-11-24T10:42:10.000Z' } as const

export const Role = Type.Union([
  Type.Literal('organizer'),
  Type.Literal('participant'),
  Type.Literal('spectator')
], { $id: 'Role' })
export type Role = Static<typeof Role>

export const MatchState = Type.Union([
  Type.Literal('scheduled'),
  Type.Literal('live'),
  Type.Literal('disputed'),
  Type.Literal('completed'),
  Type.Literal('cancelled')
], { $id: 'MatchState' })
export type MatchState = Static<typeof MatchState>

/** Participant user id → non-negative integer score. */
export const Scores = Type.Record(Type.String({ minLength: 1, maxLength: 100 }), Type.Integer({ minimum: 0, maximum: 1_000_000_000 }), {
  example: { 'u-a': 3, 'u-b': 1 }
})
export type Scores = Static<typeof Scores>

export const Prize = Type.Object({
  amount: Type.Integer({ minimum: 0, description: 'In the currency\'s minor unit (cents).' }),
  currency: Type.String({ pattern: '^[A-Z]{3}$', description: 'ISO 4217 code.', example: 'USD' })
}, { additionalProperties: false, example: { amount: 5000, currency: 'USD' } })
export type Prize = Static<typeof Prize>

/** ISO-8601 UTC timestamp. */
export const Timestamp = Type.String({ format: 'date-time', example: EXAMPLE_TIMES.started })

export const Match = Type.Object({
  id: Id,
  tournamentId: Id,
  state: MatchState,
  participants: Type.Array(Id),
  scores: Scores,
  winnerId: Type.Union([Id, Type.Null()]),
  version: Type.Integer({ minimum: 0, description: 'Bumped by every change; transitions compare-and-set on it.' }),
  prize: Type.Optional(Prize),
  startedAt: Type.Optional(Timestamp),
  completedAt: Type.Optional(Timestamp),
  certificateId: Type.Optional(IdOf('The certificate issued by the match\'s last finalize (`GET /certificates/:certificateId`); ' +
    'revoked when a dispute later led to another result or to a cancellation.'))
}, {
  $id: 'Match',
  additionalProperties: false,
  example: {
    id: 'm1',
    tournamentId: 't1',
    state: 'live',
    participants: ['u-a', 'u-b'],
    scores: { 'u-a': 2, 'u-b': 1 },
    winnerId: null,
    version: 3,
    prize: { amount: 5000, currency: 'USD' },
    startedAt: EXAMPLE_TIMES.started
  }
})
export type Match = Static<typeof Match>

/** A free-text reason (disputes, cancellations, payout rejections). */
export const Reason = Text({ minLength: 1, maxLength: 500 })

export const Tournament = Type.Object({ id: Id, name: Text({ minLength: 1, maxLength: 200 }) }, { $id: 'Tournament', additionalProperties: false })
export type Tournament = Static<typeof Tournament>

/** A user's display name: shown on certificates, analytics and snapshots instead of the id. */
export const DisplayName = Text({ minLength: 1, maxLength: 100 })

/** A user the store can name (the seed's `users`); a user without one is shown by id. */
export const User = Type.Object({ id: Id, name: DisplayName }, { additionalProperties: false })
export type User = Static<typeof User>

/** User id → display name. */
export function NamesOf (description: string) {
  return Type.Record(Type.String({ minLength: 1, maxLength: 100 }), Type.String(), { description })
}
export const Names = NamesOf('User id → display name (the id itself for a user without a name).')
export type Names = Static<typeof Names>

export const Member = Type.Object({ tournamentId: Id, userId: Id, role: Role }, { additionalProperties: false })
export type Member = Static<typeof Member>

export const PayoutStatus = Type.Union([Type.Literal('pending'), Type.Literal('approved'), Type.Literal('rejected')], { $id: 'PayoutStatus' })
export type PayoutStatus = Static<typeof PayoutStatus>

export const Payout = Type.Object({
  id: Id,
  tournamentId: Id,
  matchId: Id,
  userId: Id,
  amount: Type.Integer({ minimum: 0 }),
  currency: Type.String(),
  status: PayoutStatus,
  reason: Type.Optional(Type.String()),
  certificateId: Type.Optional(IdOf('The certificate of the result this payout pays.')),
  createdAt: Timestamp,
  updatedAt: Timestamp
}, {
  $id: 'Payout',
  additionalProperties: false,
  example: {
    id: 'p-7f3a',
    tournamentId: 't1',
    matchId: 'm1',
    userId: 'u-a',
    amount: 5000,
    currency: 'USD',
    status: 'pending',
    createdAt: EXAMPLE_TIMES.completed,
    updatedAt: EXAMPLE_TIMES.completed
  }
})
export type Payout = Static<typeof Payout>

/** A certificate code as issued (an Ed25519 signature, base64url). */
export const EXAMPLE_CODE = 'pV3w9fJ1mQ2bT8sZ0cX4nR7yK6uA5eH3gD1oL9iW2vB8qN4tM0jF7kC5xS6zP1rE3hG9aY2dU8wQ4nT7mB0vK1A'

export const Certificate = Type.Object({
  id: Id,
  code: Type.String({ description: 'Verification code: the Ed25519 signature over the certificate\'s canonical fields, base64url (86 characters).' }),
  shortCode: Type.String({
    pattern: '^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$',
    description: 'The first 60 bits of the signature in Crockford base32, grouped by four (`7K3M-Q9XD-2HWP`): short enough to read out or type.'
  }),
  tournamentId: Id,
  tournamentName: Type.String(),
  matchId: Id,
  userId: IdOf('The winner.'),
  scores: Scores,
  names: Type.Optional(NamesOf('Display name of every participant (the id for one without a name), as at issue. ' +
    'Absent on certificates issued before names were signed.')),
  issuer: Type.Optional(Type.String({ description: 'Who issued it (`certificates.issuer`). Absent on certificates issued before issuers were signed.' })),
  issuedAt: Timestamp,
  revokedAt: Type.Optional(Type.String({ format: 'date-time', description: 'When it was revoked: after a dispute, the match was finalized again or cancelled.' })),
  revokedReason: Type.Optional(Type.String())
}, {
  $id: 'Certificate',
  additionalProperties: false,
  example: {
    id: 'c-91d2',
    code: EXAMPLE_CODE,
    shortCode: '7K3M-Q9XD-2HWP',
    tournamentId: 't1',
    tournamentName: 'Spring Cup',
    matchId: 'm1',
    userId: 'u-a',
    scores: { 'u-a': 3, 'u-b': 1 },
    names: { 'u-a': 'Alice', 'u-b': 'Bob' },
    issuer: 'Spring League',
    issuedAt: EXAMPLE_TIMES.completed
  }
})
export type Certificate = Static<typeof Certificate>

/** The one error shape of every HTTP route. */
export const ErrorBody = Type.Object({
  statusCode: Type.Integer(),
  code: Type.String(),
  error: Type.String(),
  message: Type.String()
}, {
  $id: 'ErrorBody',
  example: { statusCode: 400, code: 'MATCHCAST_ERR_VALIDATION', error: 'Bad Request', message: 'body/scores/u-a must be >= 0' }
})
export type ErrorBody = Static<typeof ErrorBody>

/** Seed of a memory store (and the demo server's `MATCHCAST_SEED`). */
export const Seed = Type.Object({
  tournaments: Type.Array(Tournament, { default: [] }),
  /** Display names; optional, as is each user's: a user without one is shown by id. */
  users: Type.Optional(Type.Array(User)),
  members: Type.Array(Member, { default: [] }),
  matches: Type.Array(Type.Object({
    id: Id,
    tournamentId: Id,
    participants: Type.Array(Id, { minItems: 2 }),
    state: Type.Optional(MatchState),
    scores: Type.Optional(Scores),
    winnerId: Type.Optional(Type.Union([Id, Type.Null()])),
    prize: Type.Optional(Prize),
    startedAt: Type.Optional(Timestamp),
    completedAt: Type.Optional(Timestamp)
  }, { additionalProperties: false }), { default: [] })
}, { $id: 'Seed', additionalProperties: false })
export type Seed = Static<typeof Seed>
