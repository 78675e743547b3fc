/**
 * The PostgreSQL store's leased records: the outbox (match events waiting to be sequenced) and
 * in-flight idempotency keys. Every time is the database's (`clock_timestamp()`), so instances
 * with skewed clocks agree on when a lease has expired.
 */
import type pg from 'pg'
import type { PendingEvent } from '../../schemas/events.js'
import type { IdempotencyBegin, Lease, OutboxEntry, StoredResponse } from './store.js'

/** Runs one statement (after the store is ready) and returns its rows. */
export type Run = <R extends pg.QueryResultRow>(sql: string, values: unknown[]) => Promise<R[]>

interface OutboxRow { match_id: string, version: number, event: PendingEvent }

const toEntry = (row: OutboxRow): OutboxEntry => ({ matchId: row.match_id, version: row.version, event: row.event })
const MS = "* interval '1 millisecond'"

/** Outbox reads and changes over the qualified table `outbox`. */
export function outboxQueries (run: Run, outbox: string) {
  return {
    async pending (matchId: string, afterVersion: number): Promise<OutboxEntry[]> {
      const rows = await run<OutboxRow>(`SELECT match_id, version, event FROM ${outbox} WHERE match_id = $1 AND version > $2 ORDER BY version`, [matchId, afterVersion])
      return rows.map(toEntry)
    },

    async claim (lease: Lease, limit: number): Promise<OutboxEntry[]> {
      // An unclaimed entry is its committer's for `lease.ms` after the commit. SKIP LOCKED: of
      // concurrent claims, each entry goes to one.
      // RETURNING keeps no order: the claimed rows are ordered again outside the update.
      const rows = await run<OutboxRow>(`WITH claimed AS (UPDATE ${outbox} AS o SET owner = $1, lease_until = clock_timestamp() + $2::double precision ${MS}
        FROM (SELECT match_id, version FROM ${outbox}
          WHERE COALESCE(lease_until, created_at + $2::double precision ${MS}) < clock_timestamp()
          ORDER BY match_id COLLATE "C", version LIMIT $3 FOR UPDATE SKIP LOCKED) AS c
        WHERE o.match_id = c.match_id AND o.version = c.version
        RETURNING o.match_id, o.version, o.event)
        SELECT * FROM claimed ORDER BY match_id COLLATE "C", version`, [lease.owner, lease.ms, limit])
      return rows.map(toEntry)
    },

    async markPublished (matchId: string, version: number): Promise<void> {
      await run(`DELETE FROM ${outbox} WHERE match_id = $1 AND version <= $2`, [matchId, version])
    }
  }
}

/** Idempotency-key claims over the qualified table `keys`. */
export function idempotencyQueries (run: Run, keys: string) {
  return {
    async begin (scope: string, key: string, fingerprint: string, ttlMs: number, lease: Lease): Promise<IdempotencyBegin> {
      // Inserts the key, or takes over a record that expired, or one still in flight (same body)
      // whose lease ran out; a live record makes this a no-op.
      const claimed = await run(`INSERT INTO ${keys} AS k (scope, key, fingerprint, created_at, owner, lease_until)
        VALUES ($1, $2, $3, clock_timestamp(), $5, clock_timestamp() + $6::double precision ${MS})
        ON CONFLICT (scope, key) DO UPDATE SET fingerprint = EXCLUDED.fingerprint, created_at = EXCLUDED.created_at,
          status_code = NULL, body = NULL, owner = EXCLUDED.owner, lease_until = EXCLUDED.lease_until
          WHERE k.created_at < clock_timestamp() - $4::double precision ${MS}
            OR (k.status_code IS NULL AND k.fingerprint = EXCLUDED.fingerprint AND COALESCE(k.lease_until < clock_timestamp(), true))
        RETURNING 1`, [scope, key, fingerprint, ttlMs, lease.owner, lease.ms])
      if (claimed.length === 1) return { state: 'started' }
      const [row] = await run<{ fingerprint: string, status_code: number | null, body: unknown }>(
        `SELECT fingerprint, status_code, body FROM ${keys} WHERE scope = $1 AND key = $2`, [scope, key])
      // No row: its holder abandoned it between our two statements; the client's retry will claim it.
      if (row === undefined) return { state: 'in_flight' }
      if (row.fingerprint !== fingerprint) return { state: 'mismatch' }
      if (row.status_code === null) return { state: 'in_flight' }
      return { state: 'done', response: { statusCode: row.status_code, body: row.body } }
    },

    async renew (scope: string, key: string, lease: Lease): Promise<boolean> {
      const rows = await run(`UPDATE ${keys} SET lease_until = clock_timestamp() + $4::double precision ${MS}
        WHERE scope = $1 AND key = $2 AND owner = $3 AND status_code IS NULL RETURNING 1`, [scope, key, lease.owner, lease.ms])
      return rows.length === 1
    },

    async finish (scope: string, key: string, response: StoredResponse): Promise<void> {
      await run(`UPDATE ${keys} SET status_code = $3, body = $4, owner = NULL, lease_until = NULL WHERE scope = $1 AND key = $2`,
        [scope, key, response.statusCode, JSON.stringify(response.body)])
    },

    async abandon (scope: string, key: string, owner: string): Promise<void> {
      await run(`DELETE FROM ${keys} WHERE scope = $1 AND key = $2 AND owner = $3 AND status_code IS NULL`, [scope, key, owner])
    }
  }
}
