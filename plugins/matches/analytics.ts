/** The organizer analytics of a tournament: pure, from its matches, members, payouts and connections. */
import type { Match, Payout } from '../../schemas/common.js'
import type { AnalyticsSummary } from '../../schemas/http.js'

const MATCH_STATES = ['scheduled', 'live', 'disputed', 'completed', 'cancelled'] as const
const PAYOUT_STATUSES = ['pending', 'approved', 'rejected'] as const

/**
 * The organizer analytics of a tournament, from its matches, members and payouts; `names` names
 * the players (others are shown by id). Totals are kept in Maps: a currency, a user id (or a state
 * a host's store made up) may be spelled like a built-in property. States and statuses outside the
 * schema are not counted.
 */
export function summarize (tournamentId: string, matches: Match[], participants: number, payouts: Payout[],
  connections: AnalyticsSummary['connections'], now: Date, names: ReadonlyMap<string, string> = new Map()): AnalyticsSummary {
  const states = new Map<string, number>()
  const players = new Map<string, { matches: number, won: number }>()
  let durations = 0
  let timed = 0
  for (const m of matches) {
    states.set(m.state, (states.get(m.state) ?? 0) + 1)
    for (const p of m.participants) {
      const player = players.get(p) ?? { matches: 0, won: 0 }
      player.matches++
      if (m.state === 'completed' && m.winnerId === p) player.won++
      players.set(p, player)
    }
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
    players: [...players].map(([userId, p]) => ({ userId, name: names.get(userId) ?? userId, ...p }))
      .sort((a, b) => b.won - a.won || (a.userId < b.userId ? -1 : 1)),
    averageMatchDurationMs: timed === 0 ? null : durations / timed,
    disputes: { open: byState.disputed },
    payouts: { total: payouts.length, byStatus },
    connections,
    generatedAt: now.toISOString()
  }
}
