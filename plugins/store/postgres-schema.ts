/** The PostgreSQL store's tables, as migrations: applied in order, each once, recorded in `matchcast_migrations`; and the pruning of idempotency keys. */
import type pg from 'pg'
import type { PruneResult } from './store.js'

/** The store's tables, by the name the code uses for each. */
export const TABLES = {
  migrations: 'matchcast_migrations',
  tournaments: 'tournaments',
  users: 'users',
  members: 'members',
  matches: 'matches',
  certificates: 'certificates',
  payouts: 'payouts',
  idempotency: 'idempotency_keys',
  outbox: 'outbox'
} as const

/** Each table's schema-qualified name. */
export type Tables = Record<keyof typeof TABLES, string>

export interface Migration {
  id: number
  name: string
  sql: (schema: string) => string
}

/** Applied in order; never edit one that has shipped, add the next. */
export const MIGRATIONS: readonly Migration[] = [{
  id: 1,
  name: 'initial',
  sql: (s) => `
    CREATE TABLE ${s}.tournaments (id text PRIMARY KEY, name text NOT NULL);
    CREATE TABLE ${s}.members (
      tournament_id text NOT NULL,
      user_id text NOT NULL,
      role text NOT NULL CHECK (role IN ('organizer', 'participant', 'spectator')),
      PRIMARY KEY (tournament_id, user_id)
    );
    CREATE TABLE ${s}.matches (
      id text PRIMARY KEY,
      tournament_id text NOT NULL,
      state text NOT NULL CHECK (state IN ('scheduled', 'live', 'disputed', 'completed', 'cancelled')),
      participants jsonb NOT NULL,
      scores jsonb NOT NULL,
      winner_id text,
      version integer NOT NULL DEFAULT 0,
      prize_amount bigint,
      prize_currency text,
      started_at timestamptz,
      completed_at timestamptz
    );
    CREATE INDEX matches_tournament ON ${s}.matches (tournament_id);
    CREATE TABLE ${s}.certificates (
      id text PRIMARY KEY,
      seq bigserial NOT NULL,
      code text NOT NULL UNIQUE,
      tournament_id text NOT NULL,
      tournament_name text NOT NULL,
      match_id text NOT NULL,
      user_id text NOT NULL,
      scores jsonb NOT NULL,
      issued_at text NOT NULL
    );
    CREATE INDEX certificates_match ON ${s}.certificates (match_id, seq);
    CREATE TABLE ${s}.payouts (
      id text PRIMARY KEY,
      seq bigserial NOT NULL,
      tournament_id text NOT NULL,
      match_id text NOT NULL,
      user_id text NOT NULL,
      amount bigint NOT NULL CHECK (amount >= 0),
      currency text NOT NULL,
      status text NOT NULL CHECK (status IN ('pending', 'approved', 'rejected')),
      reason text,
      created_at timestamptz NOT NULL,
      updated_at timestamptz NOT NULL
    );
    CREATE INDEX payouts_tournament ON ${s}.payouts (tournament_id, seq);
    CREATE INDEX payouts_match ON ${s}.payouts (match_id, seq);
    CREATE TABLE ${s}.idempotency_keys (
      scope text NOT NULL,
      key text NOT NULL,
      fingerprint text NOT NULL,
      created_at timestamptz NOT NULL,
      status_code integer,
      body json,
      PRIMARY KEY (scope, key)
    );`
}, {
  id: 2,
  name: 'names, findable and revocable certificates',
  sql: (s) => `
    CREATE TABLE ${s}.users (id text PRIMARY KEY, name text NOT NULL);
    ALTER TABLE ${s}.matches ADD COLUMN certificate_id text;
    ALTER TABLE ${s}.payouts ADD COLUMN certificate_id text;
    ALTER TABLE ${s}.certificates
      ADD COLUMN names jsonb,
      ADD COLUMN issuer text,
      ADD COLUMN revoked_at timestamptz,
      ADD COLUMN revoked_reason text;
    -- A short code is the first 60 bits of the signature: the code's first ten base64url characters.
    CREATE INDEX certificates_short_code ON ${s}.certificates (left(code, 10), seq);
    CREATE INDEX certificates_tournament ON ${s}.certificates (tournament_id, seq);`
}, {
  id: 3,
  name: 'outbox and idempotency leases',
  // `event` is json, not jsonb: the event is sent as it was written, key order included.
  // Keys in flight before this migration have no lease: the next request takes them over.
  sql: (s) => `
    CREATE TABLE ${s}.outbox (
      match_id text NOT NULL,
      version integer NOT NULL,
      event json NOT NULL,
      created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
      owner text,
      lease_until timestamptz,
      PRIMARY KEY (match_id, version)
    );
    ALTER TABLE ${s}.idempotency_keys ADD COLUMN owner text, ADD COLUMN lease_until timestamptz;`
}]

/** Applies the migrations `schema` lacks, inside the caller's transaction. */
export async function migrate (client: Pick<pg.PoolClient, 'query'>, schema: string): Promise<void> {
  const s = `"${schema}"`
  // One migrator per schema at a time; the others wait here, then find nothing to do.
  await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`matchcast:${schema}`])
  await client.query(`CREATE SCHEMA IF NOT EXISTS ${s}`)
  await client.query(`CREATE TABLE IF NOT EXISTS ${s}.${TABLES.migrations} (id integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`)
  const { rows } = await client.query<{ id: number }>(`SELECT id FROM ${s}.${TABLES.migrations}`)
  const applied = new Set(rows.map((r) => r.id))
  for (const migration of MIGRATIONS) {
    if (applied.has(migration.id)) continue
    await client.query(migration.sql(s))
    await client.query(`INSERT INTO ${s}.${TABLES.migrations} (id, name) VALUES ($1, $2)`, [migration.id, migration.name])
  }
}

/**
 * One statement that deletes the idempotency keys older than `$1` ms and tells, from the oldest key
 * left, when the next one expires. (A scan of the table; it runs once per expiry, never when idle.)
 */
export function pruneSql (table: string): string {
  return `WITH expiry AS (SELECT clock_timestamp() - $1::double precision * interval '1 millisecond' AS before),
    gone AS (DELETE FROM ${table} WHERE created_at < (SELECT before FROM expiry) RETURNING 1)
    SELECT (SELECT count(*) FROM gone)::integer AS deleted,
      (SELECT EXTRACT(EPOCH FROM min(created_at) - (SELECT before FROM expiry)) * 1000
        FROM ${table} WHERE created_at >= (SELECT before FROM expiry))::double precision AS next_ms`
}

export interface PruneRow { deleted: number, next_ms: number | null }

export function toPruneResult (row: PruneRow): PruneResult {
  return { deleted: row.deleted, nextExpiryMs: row.next_ms === null ? undefined : Math.max(0, Math.ceil(row.next_ms)) }
}
