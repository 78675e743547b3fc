/** The organizer analytics of a tournament: pure, from its matches, members, payouts and connections. */
import type { Match, Payout } from '../../schemas/common.js'
import type { AnalyticsSummary } from '../../schemas/http.js'

const MATCH_STATES = ['scheduled', 'live', 'disputed', 'completed', 'cancelled'] as const
const PAYOUT_STATUSES = ['pending', 'approved', 'rejected'] as const

/**
 * The organizer analytics of a tournament, from its matches, members and payouts. Totals are kept
 * in Maps: a currency (or a state a host's store made up) may be spelled like a built-in property.
 * States and statuses outside the schema are not counted.
 */
export function summarize (tournamentId: string, matches: Match[], participants: number, payouts: Payout[],
  connections: AnalyticsSummary['connections'], now: Date): AnalyticsSummary {
  const states = new Map<string, number>()
  const players = new Set<string>()
  let durations = 0
  let timed = 0
  for (const m of matches) {
    states.set(m.state, (states.get(m.state) ?? 0) + 1)
    for (const p of m.participants) players.add(p)
    if (m.state === 'completed' && m.startedAt !== undefined && m.completedAt !== undefined) {
      durations += Date.parse(m.completedAt) - Date.parse(m.startedAt)
      timed++
    }
  }
  const byState = Object.fromEntries(MATCH_STATES.map((s) => [s, states.get(s) ?? 0])) as AnalyticsSummary['matches']['byState']
  const statuses = new Map<string, { count: number, amounts: Map<string, number> }>()
  for (const p of payouts) {
    const totals = statuses.get(p.status) ?? { count: 0, amounts: new Map<string, number>() }
    totals.count++
    totals.amounts.set(p.currency, (totals.amounts.get(p.currency) ?? 0) + p.amount)
    statuses.set(p.status, totals)
  }
  const byStatus = Object.fromEntries(PAYOUT_STATUSES.map((s) => {
    const totals = statuses.get(s)
    return [s, { count: totals?.count ?? 0, amounts: Object.fromEntries(totals?.amounts ?? []) }]
  })) as AnalyticsSummary['payouts']['byStatus']
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
