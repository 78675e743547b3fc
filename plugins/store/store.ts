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
 * - A `retire` given to `updateMatch` or `completeMatch` is part of the same write: every
 *   certificate of the match not yet revoked is revoked (`revokedAt`, `revokedReason`) and every
 *   pending payout of the match is rejected with its reason, before the new certificate and payout
 *   are written. With it, `completeMatch` writes the payout only when no payout of the match to the
 *   same user is approved already (that user was paid for the match once).
 * - A certificate's `shortCode` is a function of its `code` (`shortCodeOf` in
 *   plugins/certificates/codes.ts): a store may keep it or derive it.
 * - The outbox: a match change made with an `event` writes that event, tagged with the match's new
 *   version, in the same write (one transaction): a committed change always has its event waiting,
 *   and an event is never waiting for a change that did not commit. Entries stay until
 *   `markPublished` removes them (the relay calls it once the event is sequenced). An entry belongs
 *   to whoever committed it for `leaseMs` from its commit; after that `claimEvents` hands it to any
 *   instance that asks, under a new lease of its own. Leases only spare instances duplicate work:
 *   publishing is idempotent by version, so a second relay of one entry is harmless.
 * - Idempotency records are scoped by `scope` (the user) and `key`; `begin` is atomic, so of two
 *   concurrent begins with one key exactly one gets `started`. A record still in flight is held
 *   under a lease (owner and expiry) that its owner renews while it works; once it has expired
 *   (the owner crashed), the next `begin` with the same body takes it over and gets `started`.
 * - Methods are safe to call concurrently. `close()` is idempotent.
 */
import type { Certificate, Match, Member, Payout, PayoutStatus, Role, Tournament } from '../../schemas/common.js'
import type { PendingEvent } from '../../schemas/events.js'

/**
 * The result of an earlier finalize that a transition overturns (a disputed match finalized again,
 * or cancelled): its certificates are revoked and its pending payouts rejected, in the same write.
 */
export interface Retirement {
  /** When: the revoked certificates' `revokedAt` and the rejected payouts' `updatedAt`. */
  at: string
  /** Why: the revoked certificates' `revokedReason` and the rejected payouts' `reason`. */
  reason: string
}

/** The fields a transition may change. */
export interface MatchPatch {
  state?: Match['state']
  scores?: Match['scores']
  winnerId?: string | null
  startedAt?: string
  completedAt?: string
  certificateId?: string
}

/** A response kept for an idempotency key, replayed verbatim for the same key and body. */
export interface StoredResponse {
  statusCode: number
  body: unknown
}

/** A match event waiting to be sequenced: written with the change that caused it, removed once sequenced. */
export interface OutboxEntry {
  matchId: string
  /** The match version the change produced; every change bumps it, so a match's entries are numbered by it. */
  version: number
  event: PendingEvent
}

/** Who holds something (an in-flight idempotency key, claimed outbox entries) and for how long without a renewal. */
export interface Lease {
  /** The holder: one id per running instance. */
  owner: string
  ms: number
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
  /**
   * Display names of the given users (the seed's `users`), for certificates, analytics and
   * snapshots. Users the store cannot name are left out (they are shown by id). Optional: a store
   * without it shows every user by id.
   */
  getUserNames? (ids: readonly string[]): Promise<Map<string, string>>
  /** The user's role in the tournament, or `undefined` for a non-member. */
  getRole (tournamentId: string, userId: string): Promise<Role | undefined>
  listMembers (tournamentId: string): Promise<Member[]>
  getMatch (id: string): Promise<Match | undefined>
  /** Matches of a tournament, ordered by id. */
  listMatches (tournamentId: string): Promise<Match[]>
  /**
   * Compare-and-set on `version`; the updated match, or `undefined` when the version moved (or the
   * match is gone). With `retire`, the match's earlier result is retired in the same write. With
   * `event`, the event goes to the outbox with the new version, in the same write.
   */
  updateMatch (id: string, expectedVersion: number, patch: MatchPatch, event?: PendingEvent, retire?: Retirement): Promise<Match | undefined>
  /** `updateMatch` plus the winner's certificate and, when given, a payout; all or nothing (the outbox entry and the retirement included). */
  completeMatch (id: string, expectedVersion: number, patch: MatchPatch, certificate: Certificate, payout?: Payout, event?: PendingEvent, retire?: Retirement): Promise<Match | undefined>

  /** The match's outbox entries with a version above `afterVersion`, in version order, whoever holds them. */
  pendingEvents (matchId: string, afterVersion: number): Promise<OutboxEntry[]>
  /**
   * Takes over at most `limit` outbox entries whose lease has expired (their committer died, or
   * could not publish for `lease.ms`): each gets a new lease of `lease.ms` for `lease.owner`.
   * Ordered by match id (byte order), then version. Of concurrent claims, each entry goes to one.
   */
  claimEvents (lease: Lease, limit: number): Promise<OutboxEntry[]>
  /** Removes the match's entries up to `version`: their events are sequenced. Idempotent. */
  markPublished (matchId: string, version: number): Promise<void>

  getCertificate (id: string): Promise<Certificate | undefined>
  getCertificateByCode (code: string): Promise<Certificate | undefined>
  /** The certificate of a short code (canonical `XXXX-XXXX-XXXX`); of two sharing one (a 2^-60 chance), the first issued. */
  getCertificateByShortCode (shortCode: string): Promise<Certificate | undefined>
  /** The match's first certificate. */
  getCertificateByMatch (matchId: string): Promise<Certificate | undefined>
  /** Certificates of a tournament, revoked ones included, in the order they were issued. */
  listCertificates (tournamentId: string): Promise<Certificate[]>

  getPayout (id: string): Promise<Payout | undefined>
  getPayoutByMatch (matchId: string): Promise<Payout | undefined>
  /** Payouts of a tournament, ordered by creation. */
  listPayouts (tournamentId: string): Promise<Payout[]>
  /** Compare-and-set on status: applies only from `from`; the updated payout or `undefined`. */
  setPayoutStatus (id: string, from: PayoutStatus, to: PayoutStatus, reason?: string): Promise<Payout | undefined>

  /**
   * Claims `key` for `scope` under `lease`; `fingerprint` identifies the request body. Records older
   * than `ttlMs` are forgotten; an in-flight record whose lease expired is taken over (same body).
   */
  beginIdempotent (scope: string, key: string, fingerprint: string, ttlMs: number, lease: Lease): Promise<IdempotencyBegin>
  /** Extends the lease of an in-flight key held by `lease.owner`; `false` when it no longer holds it. */
  renewIdempotent (scope: string, key: string, lease: Lease): Promise<boolean>
  finishIdempotent (scope: string, key: string, response: StoredResponse): Promise<void>
  /** Releases an in-flight key `owner` holds whose work failed, so it can be retried. */
  abandonIdempotent (scope: string, key: string, owner: string): Promise<void>

  /** Resolves when the store answers; rejects otherwise (readiness). */
  ping (): Promise<void>
  close (): Promise<void>
}
