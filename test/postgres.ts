/**
 * PostgreSQL for tests: `DATABASE_URL` when set, else the local server (trust auth). Every suite
 * works in a schema of its own, dropped at teardown, so suites run in parallel without FLUSH-like resets.
 */
import { randomUUID } from 'node:crypto'
import pg from 'pg'
import type { Seed } from '../schemas/common.js'
import { postgresStore, type PostgresStore } from '../plugins/store/postgres-store.js'
import type { TapLike } from './helper.js'

export const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'

/** A schema name no other run uses. */
export function uniqueSchema (): string {
  return `mc_test_${randomUUID().replaceAll('-', '').slice(0, 20)}`
}

/** Runs one statement on a short-lived connection. */
export async function sql (text: string, values: unknown[] = []): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: DATABASE_URL })
  await client.connect()
  try {
    return await client.query(text, values)
  } finally {
    await client.end()
  }
}

/** Drops `schema` at teardown. */
export function dropAtTeardown (t: TapLike, schema: string): void {
  t.teardown(() => sql(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`))
}

/** A migrated PostgreSQL store in a fresh schema; closed and dropped at teardown. */
export async function pgStore (t: TapLike, seed?: Partial<Seed>, schema = uniqueSchema()): Promise<PostgresStore> {
  const store = postgresStore({ connectionString: DATABASE_URL, schema, ...(seed !== undefined && { seed }) })
  t.teardown(() => store.close())
  dropAtTeardown(t, schema)
  await store.ready()
  return store
}

export interface Stall {
  /** Ends the locking transaction: whatever waited on the tables goes on. Idempotent. */
  release (): Promise<void>
}

/**
 * Stalls the store's PostgreSQL for real: another session locks the schema's `tables` in `mode`
 * until `release()` (or teardown). `ACCESS EXCLUSIVE` blocks every query on them; `EXCLUSIVE`
 * lets plain reads through and blocks writes.
 */
export async function stall (t: TapLike, schema: string, mode: 'ACCESS EXCLUSIVE' | 'EXCLUSIVE',
  tables = ['tournaments', 'members', 'matches', 'certificates', 'payouts']): Promise<Stall> {
  const locker = new pg.Client({ connectionString: DATABASE_URL })
  await locker.connect()
  await locker.query('BEGIN')
  await locker.query(`LOCK TABLE ${tables.map((name) => `"${schema}".${name}`).join(', ')} IN ${mode} MODE`)
  let released: Promise<void> | undefined
  const release = () => (released ??= locker.query('ROLLBACK').then(() => locker.end()))
  t.teardown(release)
  return { release }
}
