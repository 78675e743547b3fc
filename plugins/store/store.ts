/**
 * The store port: how matchcast reads and changes the host's data.
 *
 * Contract (every implementation; `test/conformance/store.ts` checks it against each one):
 * - Reads return plain copies: mutating a returned object never changes the store.
 * - Ids are opaque: one spelled like a built-in property (`__proto__`, `toString`) is an ordinary
 *   id, and a `scores` key of that name is written and read back as an ordinary own key.
 * - Lookups of unknown ids resolve `undefined`; they never throw for absence.
 * - Every change of a match is a compare-and-set on `version`: it applies only when the stored
 *   version equals `expectedVersion`, bumps the version by one, and otherwise changes nothing and
 *   resolves `undefined`. Two writers racing on one version: exactly one wins.
 * - `completeMatch` is all or nothing: the match change, the certificate and the payout are written
 *   together or not at all.
 * - Idempotency records are scoped by `scope` (the user) and `key`; `begin` is atomic, so of two
 *   concurrent begins with one key exactly one gets `started`.
 * - Methods are safe to call concurrently. `close()` is idempotent.
 */
import type { Certificate, Match, Member, Payout, PayoutStatus, Role, Tournament } from '../../schemas/common.js'

/** The fields a transition may change. */
export interface MatchPatch {
  state?: Match['state']
  scores?: Match['scores']
  winnerId?: string | null
  startedAt?: string
  completedAt?: string
}

/** A response kept for an idempotency key, replayed verbatim for the same key and body. */
export interface StoredResponse {
  statusCode: number
  body: unknown
}

export type IdempotencyBegin =
  /** First use of the key: the caller does the work, then `finishIdempotent` (or `abandonIdempotent`). */
  | { state: 'started' }
  /** The same key is still being worked on. */
  | { state: 'in_flight' }
  /** The key was used with another request body. */
  | { state: 'mismatch' }
  /** The key was used with this body and finished: replay this response. */
  | { state: 'done', response: StoredResponse }

/** What one pruning of expired idempotency records did. */
export interface PruneResult {
  /** Records removed. */
  deleted: number
  /** Milliseconds until the oldest record left expires; `undefined` when none is left. */
  nextExpiryMs: number | undefined
}

/**
 * Optional capability of a store: removes idempotency records older than `ttlMs` (they are already
 * treated as absent by `beginIdempotent`; this frees their space). Safe to run concurrently with
 * requests and on several instances at once.
 */
export interface IdempotencyPruning {
  pruneIdempotent (ttlMs: number): Promise<PruneResult>
}

/** Whether the store can prune its expired idempotency records. */
export function canPrune (store: Store): store is Store & IdempotencyPruning {
  return typeof (store as Partial<IdempotencyPruning>).pruneIdempotent === 'function'
}

export interface Store {
  getTournament (id: string): Promise<Tournament | undefined>
  /** The user's role in the tournament, or `undefined` for a non-member. */
  getRole (tournamentId: string, userId: string): Promise<Role | undefined>
  listMembers (tournamentId: string): Promise<Member[]>
  getMatch (id: string): Promise<Match | undefined>
  /** Matches of a tournament, ordered by id. */
  listMatches (tournamentId: string): Promise<Match[]>
  /** Compare-and-set on `version`; the updated match, or `undefined` when the version moved (or the match is gone). */
  updateMatch (id: string, expectedVersion: number, patch: MatchPatch): Promise<Match | undefined>
  /** `updateMatch` plus the winner's certificate and, when given, a payout; all or nothing. */
  completeMatch (id: string, expectedVersion: number, patch: MatchPatch, certificate: Certificate, payout?: Payout): Promise<Match | undefined>

  getCertificate (id: string): Promise<Certificate | undefined>
  getCertificateByCode (code: string): Promise<Certificate | undefined>
  getCertificateByMatch (matchId: string): Promise<Certificate | undefined>

  getPayout (id: string): Promise<Payout | undefined>
  getPayoutByMatch (matchId: string): Promise<Payout | undefined>
  /** Payouts of a tournament, ordered by creation. */
  listPayouts (tournamentId: string): Promise<Payout[]>
  /** Compare-and-set on status: applies only from `from`; the updated payout or `undefined`. */
  setPayoutStatus (id: string, from: PayoutStatus, to: PayoutStatus, reason?: string): Promise<Payout | undefined>

  /** Claims `key` for `scope`; `fingerprint` identifies the request body. Records older than `ttlMs` are forgotten. */
  beginIdempotent (scope: string, key: string, fingerprint: string, ttlMs: number): Promise<IdempotencyBegin>
  finishIdempotent (scope: string, key: string, response: StoredResponse): Promise<void>
  /** Releases a claimed key whose work failed, so it can be retried. */
  abandonIdempotent (scope: string, key: string): Promise<void>

  /** Resolves when the store answers; rejects otherwise (readiness). */
  ping (): Promise<void>
  close (): Promise<void>
}
