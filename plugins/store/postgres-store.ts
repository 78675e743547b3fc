/**
 * The store on PostgreSQL, for production: several instances share it, and every guarantee of the
 * Store contract holds across them.
 *
 * - Tables live in one schema (`schema`, default `matchcast`), created by the migrations below.
 *   Migrations run once per store, in one transaction, under an advisory lock (so instances that
 *   start together do not race), and each is recorded in `matchcast_migrations`.
 * - A match change is one `UPDATE … WHERE version = $expected`: the row lock makes racing writers
 *   serialize, and the loser matches no row. `completeMatch` runs that update, the retirement of an
 *   overturned result, the certificate and the payout in one transaction.
 * - A change with an event inserts its outbox row in the same statement (a data-modifying CTE), so
 *   the ack path keeps one round trip; `completeMatch` and a change that retires a result do it
 *   inside their transaction.
 * - Idempotency keys have a primary key on (scope, key): of concurrent begins, exactly one inserts.
 *   Leases (outbox claims, keys in flight) are measured by the database's clock (postgres-leases.ts).
 * - Timestamps of matches and payouts are `timestamptz` and read back as ISO-8601 UTC with
 *   milliseconds; a certificate's `issuedAt` is kept as text, since its exact bytes are signed.
 * - `pg` is loaded, and the store's own pool made, by the first call (`ready()` at registration):
 *   an app without a PostgreSQL store never loads the driver.
 */
import type pg from 'pg'
import { lazy } from '../../lib/lazy.js'
import type { Certificate, Match, Member, Payout, PayoutStatus, Role, Seed, Tournament } from '../../schemas/common.js'
import { InvalidOptionsError } from '../../lib/errors.js'
import type { PendingEvent } from '../../schemas/events.js'
import { idempotencyQueries, outboxQueries } from './postgres-leases.js'
import { toCertificate, toMatch, toPayout, type CertificateRow, type MatchRow, type PayoutRow } from './postgres-rows.js'
import { migrate, pruneSql, TABLES, toPruneResult, type PruneRow, type Tables } from './postgres-schema.js'
import { insertCertificate, insertPayout, retireResult } from './postgres-results.js'
import { insertSeed } from './postgres-seed.js'
import { parseSeed } from './seed.js'
import { codePrefixOf } from '../certificates/codes.js'
import type { IdempotencyBegin, IdempotencyPruning, Lease, MatchPatch, OutboxEntry, PruneResult, Retirement, Store, StoredResponse } from './store.js'

export const DEFAULT_SCHEMA = 'matchcast'
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/

export interface PostgresStoreOptions {
  /** `postgres://…` URL; the store creates a pool and ends it on `close()`. */
  connectionString?: string
  /** A pool of the host's; `close()` leaves it open. */
  pool?: pg.Pool
  /** Schema of the tables (created when missing): lowercase letters, digits, `_`. @default 'matchcast' */
  schema?: string
  /** Loaded after the migrations; rows that already exist are kept as they are. */
  seed?: Partial<Seed>
  /** Errors of idle pooled connections (e.g. the server restarted). @default ignored (the pool reconnects) */
  onError?: (err: Error) => void
}

type Queryable = Pick<pg.PoolClient, 'query'>

const driver = lazy(async () => (await import('pg')).default)

export class PostgresStore implements Store, IdempotencyPruning {
  readonly schema: string
  #pool: pg.Pool | undefined // the host's, or the store's own once made (`#connection`)
  readonly #connectionString: string | undefined
  readonly #ownsPool: boolean
  readonly #seed: Partial<Seed> | undefined
  readonly #onError: (err: Error) => void
  /** Each table's qualified name. */
  readonly #t: Tables
  readonly #outbox: ReturnType<typeof outboxQueries>
  readonly #keys: ReturnType<typeof idempotencyQueries>
  #ready: Promise<void> | undefined
  #migration: Promise<void> | undefined
  #closed = false

  constructor (options: PostgresStoreOptions) {
    const schema = options.schema ?? DEFAULT_SCHEMA
    if (!SCHEMA_NAME.test(schema)) throw new InvalidOptionsError('database.schema: lowercase letters, digits and _, at most 63, not starting with a digit')
    if ((options.pool === undefined) === (options.connectionString === undefined)) {
      throw new InvalidOptionsError('database: give exactly one of connectionString and pool')
    }
    this.schema = schema
    this.#ownsPool = options.pool === undefined
    this.#pool = options.pool
    this.#connectionString = options.connectionString
    this.#seed = options.seed
    this.#onError = options.onError ?? (() => {})
    this.#t = Object.fromEntries(Object.entries(TABLES).map(([name, table]) => [name, `"${schema}".${table}`])) as Tables
    const run = <R extends pg.QueryResultRow>(sql: string, values: unknown[]) => this.#query<R>(sql, values)
    this.#outbox = outboxQueries(run, this.#t.outbox)
    this.#keys = idempotencyQueries(run, this.#t.idempotency)
  }

  /**
   * Applies pending migrations, then the `seed` option; every method waits for it. Runs once (after
   * a failure, the next call tries again). The store plugin calls it at registration, so a bad
   * database fails `app.ready()`.
   */
  ready (): Promise<void> {
    if (this.#ready === undefined) {
      const seed = this.#seed
      this.#ready = this.#migrated().then(() => (seed === undefined ? undefined : this.loadSeed(seed)))
      this.#ready.catch(() => { this.#ready = undefined })
    }
    return this.#ready
  }

  /** The migrations, run once per store (after a failure, the next call tries again). */
  #migrated (): Promise<void> {
    if (this.#migration === undefined) {
      this.#migration = this.#migrate()
      this.#migration.catch(() => { this.#migration = undefined })
    }
    return this.#migration
  }

  async #migrate (): Promise<void> {
    await this.#transaction((client) => migrate(client, this.schema))
  }

  /** Loads a seed (the demo seed JSON shape); existing rows are kept, so loading twice is harmless. */
  async loadSeed (seed: Partial<Seed>): Promise<void> {
    const full = parseSeed(seed)
    await this.#migrated()
    await this.#transaction((client) => insertSeed(client, this.#t, full))
  }

  /** The pool; the store's own is made once, by the first call (once `pg` is loaded), never after `close()`. */
  async #connection (): Promise<pg.Pool> {
    if (this.#pool === undefined) {
      const { Pool } = await driver()
      // Like an ended pool, a store closed before its pool was made refuses to be used.
      if (this.#closed) throw new Error('Cannot use a pool after calling end on the pool')
      this.#pool ??= new Pool({ connectionString: this.#connectionString }).on('error', (err) => this.#onError(err))
    }
    return this.#pool
  }

  async #transaction<T> (work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await (await this.#connection()).connect()
    try {
      await client.query('BEGIN')
      const result = await work(client)
      await client.query('COMMIT')
      client.release()
      return result
    } catch (err) {
      // A connection whose rollback fails is broken: release it as such, so the pool drops it.
      await client.query('ROLLBACK').then(() => client.release(), (rollbackErr: Error) => client.release(rollbackErr))
      throw err
    }
  }

  async #query<R extends pg.QueryResultRow> (sql: string, values: unknown[], on?: Queryable): Promise<R[]> {
    await this.ready()
    return (await (on ?? await this.#connection()).query<R>(sql, values)).rows
  }

  async getTournament (id: string): Promise<Tournament | undefined> {
    const [row] = await this.#query<Tournament>(`SELECT id, name FROM ${this.#t.tournaments} WHERE id = $1`, [id])
    return row
  }

  async getUserNames (ids: readonly string[]): Promise<Map<string, string>> {
    const rows = await this.#query<{ id: string, name: string }>(`SELECT id, name FROM ${this.#t.users} WHERE id = ANY($1::text[])`, [ids])
    return new Map(rows.map((r) => [r.id, r.name]))
  }

  async getRole (tournamentId: string, userId: string): Promise<Role | undefined> {
    const [row] = await this.#query<{ role: Role }>(`SELECT role FROM ${this.#t.members} WHERE tournament_id = $1 AND user_id = $2`, [tournamentId, userId])
    return row?.role
  }

  async listMembers (tournamentId: string): Promise<Member[]> {
    return this.#query<Member>(`SELECT tournament_id AS "tournamentId", user_id AS "userId", role FROM ${this.#t.members}
      WHERE tournament_id = $1 ORDER BY user_id COLLATE "C"`, [tournamentId])
  }

  async getMatch (id: string): Promise<Match | undefined> {
    const [row] = await this.#query<MatchRow>(`SELECT * FROM ${this.#t.matches} WHERE id = $1`, [id])
    return row === undefined ? undefined : toMatch(row)
  }

  async listMatches (tournamentId: string): Promise<Match[]> {
    // Byte order, like the memory store's string comparison of ids.
    const rows = await this.#query<MatchRow>(`SELECT * FROM ${this.#t.matches} WHERE tournament_id = $1 ORDER BY id COLLATE "C"`, [tournamentId])
    return rows.map(toMatch)
  }

  /**
   * The compare-and-set: one statement, so the row lock orders racing writers and the loser matches
   * nothing; with an event, the same statement writes its outbox row (only when the update matched).
   */
  async #cas (on: Queryable | undefined, id: string, expectedVersion: number, patch: MatchPatch, event: PendingEvent | undefined): Promise<Match | undefined> {
    const sets = ['version = version + 1']
    const values: unknown[] = [id, expectedVersion]
    const set = (column: string, value: unknown) => {
      values.push(value)
      sets.push(`${column} = $${values.length}`)
    }
    if (patch.state !== undefined) set('state', patch.state)
    if (patch.scores !== undefined) set('scores', JSON.stringify(patch.scores))
    if (patch.winnerId !== undefined) set('winner_id', patch.winnerId)
    if (patch.startedAt !== undefined) set('started_at', patch.startedAt)
    if (patch.completedAt !== undefined) set('completed_at', patch.completedAt)
    if (patch.certificateId !== undefined) set('certificate_id', patch.certificateId)
    let statement = `UPDATE ${this.#t.matches} SET ${sets.join(', ')} WHERE id = $1 AND version = $2 RETURNING *`
    if (event !== undefined) {
      values.push(JSON.stringify(event))
      statement = `WITH m AS (${statement}), o AS (INSERT INTO ${this.#t.outbox} (match_id, version, event) SELECT id, version, $${values.length}::json FROM m)
        SELECT * FROM m`
    }
    const [row] = await this.#query<MatchRow>(statement, values, on)
    return row === undefined ? undefined : toMatch(row)
  }

  async updateMatch (id: string, expectedVersion: number, patch: MatchPatch, event?: PendingEvent, retire?: Retirement): Promise<Match | undefined> {
    if (retire === undefined) return this.#cas(undefined, id, expectedVersion, patch, event)
    await this.ready()
    return this.#transaction(async (client) => {
      const match = await this.#cas(client, id, expectedVersion, patch, event)
      if (match !== undefined) await retireResult(client, this.#t, id, retire)
      return match
    })
  }

  async completeMatch (id: string, expectedVersion: number, patch: MatchPatch, certificate: Certificate, payout?: Payout, event?: PendingEvent, retire?: Retirement): Promise<Match | undefined> {
    await this.ready()
    return this.#transaction(async (client) => {
      const match = await this.#cas(client, id, expectedVersion, patch, event)
      if (match === undefined) return undefined
      if (retire !== undefined) await retireResult(client, this.#t, id, retire)
      await insertCertificate(client, this.#t, certificate)
      if (payout !== undefined) await insertPayout(client, this.#t, payout, retire !== undefined)
      return match
    })
  }

  async #certificate (where: string, value: string): Promise<Certificate | undefined> {
    const [row] = await this.#query<CertificateRow>(`SELECT * FROM ${this.#t.certificates} WHERE ${where} = $1 ORDER BY seq LIMIT 1`, [value])
    return row === undefined ? undefined : toCertificate(row)
  }

  getCertificate (id: string) { return this.#certificate('id', id) }
  getCertificateByCode (code: string) { return this.#certificate('code', code) }
  getCertificateByShortCode (shortCode: string) { return this.#certificate('left(code, 10)', codePrefixOf(shortCode)) }
  getCertificateByMatch (matchId: string) { return this.#certificate('match_id', matchId) }

  async listCertificates (tournamentId: string): Promise<Certificate[]> {
    const rows = await this.#query<CertificateRow>(`SELECT * FROM ${this.#t.certificates} WHERE tournament_id = $1 ORDER BY seq`, [tournamentId])
    return rows.map(toCertificate)
  }

  async #payout (where: string, value: string): Promise<Payout | undefined> {
    const [row] = await this.#query<PayoutRow>(`SELECT * FROM ${this.#t.payouts} WHERE ${where} = $1 ORDER BY seq LIMIT 1`, [value])
    return row === undefined ? undefined : toPayout(row)
  }

  getPayout (id: string) { return this.#payout('id', id) }
  /** The match's first payout. */
  getPayoutByMatch (matchId: string) { return this.#payout('match_id', matchId) }

  async listPayouts (tournamentId: string): Promise<Payout[]> {
    const rows = await this.#query<PayoutRow>(`SELECT * FROM ${this.#t.payouts} WHERE tournament_id = $1 ORDER BY seq`, [tournamentId])
    return rows.map(toPayout)
  }

  async setPayoutStatus (id: string, from: PayoutStatus, to: PayoutStatus, reason?: string): Promise<Payout | undefined> {
    const [row] = await this.#query<PayoutRow>(`UPDATE ${this.#t.payouts} SET status = $3, reason = COALESCE($4, reason), updated_at = clock_timestamp()
      WHERE id = $1 AND status = $2 RETURNING *`, [id, from, to, reason ?? null])
    return row === undefined ? undefined : toPayout(row)
  }

  pendingEvents (matchId: string, afterVersion: number): Promise<OutboxEntry[]> { return this.#outbox.pending(matchId, afterVersion) }
  claimEvents (lease: Lease, limit: number): Promise<OutboxEntry[]> { return this.#outbox.claim(lease, limit) }
  markPublished (matchId: string, version: number): Promise<void> { return this.#outbox.markPublished(matchId, version) }

  beginIdempotent (scope: string, key: string, fingerprint: string, ttlMs: number, lease: Lease): Promise<IdempotencyBegin> {
    return this.#keys.begin(scope, key, fingerprint, ttlMs, lease)
  }

  renewIdempotent (scope: string, key: string, lease: Lease): Promise<boolean> { return this.#keys.renew(scope, key, lease) }
  finishIdempotent (scope: string, key: string, response: StoredResponse): Promise<void> { return this.#keys.finish(scope, key, response) }
  abandonIdempotent (scope: string, key: string, owner: string): Promise<void> { return this.#keys.abandon(scope, key, owner) }

  async pruneIdempotent (ttlMs: number): Promise<PruneResult> {
    return toPruneResult((await this.#query<PruneRow>(pruneSql(this.#t.idempotency), [ttlMs]))[0]!)
  }

  async ping (): Promise<void> {
    await (await this.#connection()).query('SELECT 1')
  }

  /** Ends the pool when the store created it; a pool passed in stays open. Idempotent. */
  async close (): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    if (this.#ownsPool) await this.#pool?.end()
  }
}

/** A PostgreSQL store; pass `connectionString` (the store owns the pool) or `pool` (yours). */
export function postgresStore (options: PostgresStoreOptions): PostgresStore {
  return new PostgresStore(options)
}
