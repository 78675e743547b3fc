import { copyJson } from '../../lib/copy.js'
import type { Certificate, Match, Member, Payout, PayoutStatus, Role, Seed, Tournament } from '../../schemas/common.js'
import type { PendingEvent } from '../../schemas/events.js'
import { parseSeed, seededMatch } from './seed.js'
import type { IdempotencyBegin, IdempotencyPruning, Lease, MatchPatch, OutboxEntry, PruneResult, Retirement, StoredResponse, Store } from './store.js'

interface IdempotencyRecord {
  fingerprint: string
  createdAt: number
  response?: StoredResponse
  /** While in flight: who holds it, until when. */
  owner?: string
  leaseUntil?: number
}

interface OutboxRecord {
  entry: OutboxEntry
  createdAt: number
  /** Set by a claim; until then the committer holds it for the claimer's lease length after `createdAt`. */
  leaseUntil?: number
}

const clone = copyJson

/**
 * A store held in this process's memory: single instance only, lost on restart. The default store
 * and the demo server's; `seed` has the shape of the demo seed JSON.
 */
export class MemoryStore implements Store, IdempotencyPruning {
  readonly #tournaments = new Map<string, Tournament>()
  readonly #names = new Map<string, string>()
  readonly #members = new Map<string, Member>()
  readonly #matches = new Map<string, Match>()
  readonly #certificates = new Map<string, Certificate>()
  readonly #payouts = new Map<string, Payout>()
  readonly #idempotency = new Map<string, IdempotencyRecord>()
  /** Per match, its waiting events in version order. */
  readonly #outbox = new Map<string, OutboxRecord[]>()

  constructor (seed: Partial<Seed> = {}) {
    const full = parseSeed(seed)
    for (const t of full.tournaments) this.#tournaments.set(t.id, t)
    for (const u of full.users ?? []) this.#names.set(u.id, u.name)
    for (const m of full.members) this.#members.set(`${m.tournamentId}\u0000${m.userId}`, m)
    for (const m of full.matches) this.#matches.set(m.id, seededMatch(m))
  }

  async getTournament (id: string) { return clone(this.#tournaments.get(id)) }
  async getUserNames (ids: readonly string[]) {
    return new Map(ids.flatMap((id) => (this.#names.has(id) ? [[id, this.#names.get(id)!] as const] : [])))
  }

  async getRole (tournamentId: string, userId: string): Promise<Role | undefined> {
    return this.#members.get(`${tournamentId}\u0000${userId}`)?.role
  }

  async listMembers (tournamentId: string) {
    return [...this.#members.values()].filter((m) => m.tournamentId === tournamentId).map(clone)
  }

  async getMatch (id: string) { return clone(this.#matches.get(id)) }
  async listMatches (tournamentId: string) {
    return [...this.#matches.values()].filter((m) => m.tournamentId === tournamentId)
      .sort((a, b) => (a.id < b.id ? -1 : 1)).map(clone)
  }

  /** The synchronous core of every compare-and-set: no await between the check and the write (of the outbox entry too). */
  #cas (id: string, expectedVersion: number, patch: MatchPatch, event: PendingEvent | undefined): Match | undefined {
    const current = this.#matches.get(id)
    if (current === undefined || current.version !== expectedVersion) return undefined
    const next: Match = { ...current, ...clone(patch), version: current.version + 1 }
    this.#matches.set(id, next)
    if (event !== undefined) {
      const records = this.#outbox.get(id) ?? []
      records.push({ entry: { matchId: id, version: next.version, event: clone(event) }, createdAt: Date.now() })
      this.#outbox.set(id, records)
    }
    return next
  }

  /** Revokes the match's certificates and rejects its pending payouts (see `Retirement`). */
  #retire (matchId: string, { at, reason }: Retirement): void {
    for (const c of this.#certificates.values()) {
      if (c.matchId === matchId && c.revokedAt === undefined) Object.assign(c, { revokedAt: at, revokedReason: reason })
    }
    for (const p of this.#payouts.values()) {
      if (p.matchId === matchId && p.status === 'pending') Object.assign(p, { status: 'rejected', reason, updatedAt: at })
    }
  }

  async updateMatch (id: string, expectedVersion: number, patch: MatchPatch, event?: PendingEvent, retire?: Retirement) {
    const next = this.#cas(id, expectedVersion, patch, event)
    if (next !== undefined && retire !== undefined) this.#retire(id, retire)
    return clone(next)
  }

  async completeMatch (id: string, expectedVersion: number, patch: MatchPatch, certificate: Certificate, payout?: Payout, event?: PendingEvent, retire?: Retirement) {
    const next = this.#cas(id, expectedVersion, patch, event)
    if (next !== undefined) {
      if (retire !== undefined) this.#retire(id, retire)
      this.#certificates.set(certificate.id, clone(certificate))
      const paid = retire !== undefined && payout !== undefined &&
        [...this.#payouts.values()].some((p) => p.matchId === id && p.userId === payout.userId && p.status === 'approved')
      if (payout !== undefined && !paid) this.#payouts.set(payout.id, clone(payout))
    }
    return clone(next)
  }

  async getCertificate (id: string) { return clone(this.#certificates.get(id)) }
  async getCertificateByCode (code: string) {
    return clone([...this.#certificates.values()].find((c) => c.code === code))
  }

  async getCertificateByShortCode (shortCode: string) {
    return clone([...this.#certificates.values()].find((c) => c.shortCode === shortCode))
  }

  async getCertificateByMatch (matchId: string) {
    return clone([...this.#certificates.values()].find((c) => c.matchId === matchId))
  }

  async listCertificates (tournamentId: string) {
    return [...this.#certificates.values()].filter((c) => c.tournamentId === tournamentId).map(clone)
  }

  async getPayout (id: string) { return clone(this.#payouts.get(id)) }
  async getPayoutByMatch (matchId: string) {
    return clone([...this.#payouts.values()].find((p) => p.matchId === matchId))
  }

  async listPayouts (tournamentId: string) {
    return [...this.#payouts.values()].filter((p) => p.tournamentId === tournamentId).map(clone)
  }

  async setPayoutStatus (id: string, from: PayoutStatus, to: PayoutStatus, reason?: string) {
    const current = this.#payouts.get(id)
    if (current === undefined || current.status !== from) return undefined
    const next: Payout = { ...current, status: to, updatedAt: new Date().toISOString() }
    if (reason !== undefined) next.reason = reason
    this.#payouts.set(id, next)
    return clone(next)
  }

  async pendingEvents (matchId: string, afterVersion: number): Promise<OutboxEntry[]> {
    return (this.#outbox.get(matchId) ?? []).filter((r) => r.entry.version > afterVersion).map((r) => clone(r.entry))
  }

  async claimEvents (lease: Lease, limit: number): Promise<OutboxEntry[]> {
    const now = Date.now()
    const claimed: OutboxEntry[] = []
    for (const matchId of [...this.#outbox.keys()].sort()) {
      for (const record of this.#outbox.get(matchId)!) {
        if (claimed.length >= limit) return claimed
        if ((record.leaseUntil ?? record.createdAt + lease.ms) >= now) continue
        record.leaseUntil = now + lease.ms
        claimed.push(clone(record.entry))
      }
    }
    return claimed
  }

  async markPublished (matchId: string, version: number): Promise<void> {
    const left = (this.#outbox.get(matchId) ?? []).filter((r) => r.entry.version > version)
    if (left.length === 0) this.#outbox.delete(matchId)
    else this.#outbox.set(matchId, left)
  }

  async beginIdempotent (scope: string, key: string, fingerprint: string, ttlMs: number, lease: Lease): Promise<IdempotencyBegin> {
    const id = `${scope}\u0000${key}`
    const now = Date.now()
    const record = this.#idempotency.get(id)
    const claim = { owner: lease.owner, leaseUntil: now + lease.ms }
    if (record === undefined || now - record.createdAt > ttlMs) {
      this.#idempotency.set(id, { fingerprint, createdAt: now, ...claim })
      return { state: 'started' }
    }
    if (record.fingerprint !== fingerprint) return { state: 'mismatch' }
    if (record.response !== undefined) return { state: 'done', response: clone(record.response) }
    if (record.leaseUntil! >= now) return { state: 'in_flight' }
    // Its holder stopped renewing (it crashed): the request runs again, under this lease.
    Object.assign(record, claim)
    return { state: 'started' }
  }

  async renewIdempotent (scope: string, key: string, lease: Lease): Promise<boolean> {
    const record = this.#idempotency.get(`${scope}\u0000${key}`)
    if (record === undefined || record.response !== undefined || record.owner !== lease.owner) return false
    record.leaseUntil = Date.now() + lease.ms
    return true
  }

  async finishIdempotent (scope: string, key: string, response: StoredResponse) {
    const record = this.#idempotency.get(`${scope}\u0000${key}`)
    if (record === undefined) return
    record.response = clone(response)
    delete record.owner
    delete record.leaseUntil
  }

  async abandonIdempotent (scope: string, key: string, owner: string) {
    const id = `${scope}\u0000${key}`
    const record = this.#idempotency.get(id)
    if (record?.response === undefined && record?.owner === owner) this.#idempotency.delete(id)
  }

  async pruneIdempotent (ttlMs: number): Promise<PruneResult> {
    const now = Date.now()
    let deleted = 0
    let oldest: number | undefined
    for (const [id, record] of this.#idempotency) {
      if (now - record.createdAt > ttlMs) {
        this.#idempotency.delete(id)
        deleted++
      } else {
        oldest = Math.min(oldest ?? record.createdAt, record.createdAt)
      }
    }
    return { deleted, nextExpiryMs: oldest === undefined ? undefined : oldest + ttlMs - now }
  }

  async ping () {}
  async close () {}
}

/** A memory store holding `seed` (see the seed JSON of the README). */
export function memoryStore (seed: Partial<Seed> = {}): Store {
  return new MemoryStore(seed)
}
