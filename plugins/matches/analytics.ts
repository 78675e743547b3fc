/** The organizer analytics of a tournament: pure, from its matches, members, payouts and connections. */
import type { Match, Payout } from '../../schemas/common.js'
import type { AnalyticsSummary } from '../../schemas/http.js'

const MATCH_STATES = ['scheduled', 'live', 'disputed', 'completed', 'cancelled'] as const
const PAYOUT_STATUSES = ['pending', 'approved', 'rejected'] as const

/** The organizer analytics of a tournament, from its matches, members and payouts. */
export function summarize (tournamentId: string, matches: Match[], participants: number, payouts: Payout[],
  connections: AnalyticsSummary['connections'], now: Date): AnalyticsSummary {
  const byState = Object.fromEntries(MATCH_STATES.map((s) => [s, 0])) as AnalyticsSummary['matches']['byState']
  const players = new Set<string>()
  let durations = 0
  let timed = 0
  for (const m of matches) {
    byState[m.state]++
    for (const p of m.participants) players.add(p)
    if (m.state === 'completed' && m.startedAt !== undefined && m.completedAt !== undefined) {
      durations += Date.parse(m.completedAt) - Date.parse(m.startedAt)
      timed++
    }
  }
  const byStatus = Object.fromEntries(PAYOUT_STATUSES.map((s) => [s, { count: 0, amounts: {} }])) as AnalyticsSummary['payouts']['byStatus']
  for (const p of payouts) {
    const totals = byStatus[p.status]
    totals.count++
    totals.amounts[p.currency] = (totals.amounts[p.currency] ?? 0) + p.amount
  }
  return {
    tournamentId,
    matches: { total: matches.length, byState },
    participants: { members: participants, inMatches: players.size },
    averageMatchDurationMs: timed === 0 ? null : durations / timed,
    disputes: { open: byState.disputed },
    payouts: { total: payouts.length, byStatus },
    connections,
    generatedAt: now.toISOString()
  }
}
