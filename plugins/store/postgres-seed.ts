/** Loading a seed (the demo seed JSON shape) into the PostgreSQL store's tables; rows that exist are kept. */
import type pg from 'pg'
import type { Seed } from '../../schemas/common.js'
import type { Tables } from './postgres-schema.js'
import { seededMatch } from './seed.js'

/** Inserts a checked seed's rows (inside the caller's transaction); existing rows are kept, so loading twice is harmless. */
export async function insertSeed (client: Pick<pg.PoolClient, 'query'>, t: Tables, seed: Seed): Promise<void> {
  const matches = seed.matches.map(seededMatch).map((m) => ({
    id: m.id,
    tournament_id: m.tournamentId,
    state: m.state,
    participants: m.participants,
    scores: m.scores,
    winner_id: m.winnerId,
    prize_amount: m.prize?.amount ?? null,
    prize_currency: m.prize?.currency ?? null,
    started_at: m.startedAt ?? null,
    completed_at: m.completedAt ?? null
  }))
  const members = seed.members.map((m) => ({ tournament_id: m.tournamentId, user_id: m.userId, role: m.role }))
  await client.query(`INSERT INTO ${t.tournaments} (id, name) SELECT id, name FROM jsonb_to_recordset($1::jsonb) AS x(id text, name text)
    ON CONFLICT (id) DO NOTHING`, [JSON.stringify(seed.tournaments)])
  await client.query(`INSERT INTO ${t.users} (id, name) SELECT id, name FROM jsonb_to_recordset($1::jsonb) AS x(id text, name text)
    ON CONFLICT (id) DO NOTHING`, [JSON.stringify(seed.users ?? [])])
  await client.query(`INSERT INTO ${t.members} (tournament_id, user_id, role)
    SELECT tournament_id, user_id, role FROM jsonb_to_recordset($1::jsonb) AS x(tournament_id text, user_id text, role text)
    ON CONFLICT (tournament_id, user_id) DO NOTHING`, [JSON.stringify(members)])
  await client.query(`INSERT INTO ${t.matches}
      (id, tournament_id, state, participants, scores, winner_id, prize_amount, prize_currency, started_at, completed_at)
    SELECT id, tournament_id, state, participants, scores, winner_id, prize_amount, prize_currency, started_at, completed_at
    FROM jsonb_to_recordset($1::jsonb) AS x(id text, tournament_id text, state text, participants jsonb, scores jsonb,
      winner_id text, prize_amount bigint, prize_currency text, started_at timestamptz, completed_at timestamptz)
    ON CONFLICT (id) DO NOTHING`, [JSON.stringify(matches)])
}
