/** The PostgreSQL store's writes of a match result: certificates, payouts, and retiring an overturned result. */
import type pg from 'pg'
import type { Certificate, Payout } from '../../schemas/common.js'
import type { Tables } from './postgres-schema.js'
import type { Retirement } from './store.js'

type Queryable = Pick<pg.PoolClient, 'query'>

/** Revokes the match's certificates not revoked yet and rejects its pending payouts (see `Retirement`). */
export async function retireResult (client: Queryable, t: Tables, matchId: string, { at, reason }: Retirement): Promise<void> {
  await client.query(`UPDATE ${t.certificates} SET revoked_at = $2, revoked_reason = $3 WHERE match_id = $1 AND revoked_at IS NULL`, [matchId, at, reason])
  await client.query(`UPDATE ${t.payouts} SET status = 'rejected', reason = $3, updated_at = $2 WHERE match_id = $1 AND status = 'pending'`, [matchId, at, reason])
}

export async function insertCertificate (client: Queryable, t: Tables, c: Certificate): Promise<void> {
  // The short code is not stored: it is the code's first ten characters (see codePrefixOf).
  await client.query(`INSERT INTO ${t.certificates} (id, code, tournament_id, tournament_name, match_id, user_id, scores, names, issuer, issued_at)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
  [c.id, c.code, c.tournamentId, c.tournamentName, c.matchId, c.userId, JSON.stringify(c.scores), c.names === undefined ? null : JSON.stringify(c.names), c.issuer ?? null, c.issuedAt])
}

/**
 * Inserts a payout. After a retirement (`retiring`), not when a payout of the match to the same
 * user is approved already: that user was paid for this match once. The retirement's row locks
 * order this read after any approval still committing.
 */
export async function insertPayout (client: Queryable, t: Tables, p: Payout, retiring: boolean): Promise<void> {
  await client.query(`INSERT INTO ${t.payouts} (id, tournament_id, match_id, user_id, amount, currency, status, reason, certificate_id, created_at, updated_at)
    SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11
    WHERE NOT $12 OR NOT EXISTS (SELECT 1 FROM ${t.payouts} WHERE match_id = $3 AND user_id = $4 AND status = 'approved')`,
  [p.id, p.tournamentId, p.matchId, p.userId, p.amount, p.currency, p.status, p.reason ?? null, p.certificateId ?? null, p.createdAt, p.updatedAt, retiring])
}
