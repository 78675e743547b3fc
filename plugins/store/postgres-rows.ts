/** Rows of the PostgreSQL store's tables, and the objects of the Store contract they read as. */
import type { Certificate, Match, Payout, PayoutStatus } from '../../schemas/common.js'
import { shortCodeOf } from '../certificates/codes.js'

export interface MatchRow {
  id: string
  tournament_id: string
  state: Match['state']
  participants: string[]
  scores: Match['scores']
  winner_id: string | null
  version: number
  prize_amount: string | null
  prize_currency: string | null
  started_at: Date | null
  completed_at: Date | null
  certificate_id: string | null
}

export interface CertificateRow {
  id: string
  code: string
  tournament_id: string
  tournament_name: string
  match_id: string
  user_id: string
  scores: Certificate['scores']
  /** Null on certificates issued before names and issuers were signed. */
  names: Record<string, string> | null
  issuer: string | null
  issued_at: string
  revoked_at: Date | null
  revoked_reason: string | null
}

export interface PayoutRow {
  id: string
  tournament_id: string
  match_id: string
  user_id: string
  amount: string
  currency: string
  status: PayoutStatus
  reason: string | null
  certificate_id: string | null
  created_at: Date
  updated_at: Date
}

export function toMatch (row: MatchRow): Match {
  const match: Match = {
    id: row.id,
    tournamentId: row.tournament_id,
    state: row.state,
    participants: row.participants,
    scores: row.scores,
    winnerId: row.winner_id,
    version: row.version
  }
  if (row.prize_amount !== null) match.prize = { amount: Number(row.prize_amount), currency: row.prize_currency! }
  if (row.started_at !== null) match.startedAt = row.started_at.toISOString()
  if (row.completed_at !== null) match.completedAt = row.completed_at.toISOString()
  if (row.certificate_id !== null) match.certificateId = row.certificate_id
  return match
}

export function toCertificate (row: CertificateRow): Certificate {
  const certificate: Certificate = {
    id: row.id,
    code: row.code,
    shortCode: shortCodeOf(row.code),
    tournamentId: row.tournament_id,
    tournamentName: row.tournament_name,
    matchId: row.match_id,
    userId: row.user_id,
    scores: row.scores,
    issuedAt: row.issued_at
  }
  if (row.names !== null) certificate.names = row.names
  if (row.issuer !== null) certificate.issuer = row.issuer
  if (row.revoked_at !== null) certificate.revokedAt = row.revoked_at.toISOString()
  if (row.revoked_reason !== null) certificate.revokedReason = row.revoked_reason
  return certificate
}

export function toPayout (row: PayoutRow): Payout {
  const payout: Payout = {
    id: row.id,
    tournamentId: row.tournament_id,
    matchId: row.match_id,
    userId: row.user_id,
    amount: Number(row.amount),
    currency: row.currency,
    status: row.status,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString()
  }
  if (row.reason !== null) payout.reason = row.reason
  if (row.certificate_id !== null) payout.certificateId = row.certificate_id
  return payout
}
