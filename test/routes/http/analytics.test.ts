import t from 'tap'
import { summarize } from '../../../routes/http/index.js'
import { as, client } from '../../helper.js'
import { memoryStore } from '../../../plugins/store/memory-store.js'
import { bearer, finalizeM1, httpApp, liveSeed } from './setup.js'

t.test('GET /tournaments/:id/analytics/summary: the organizer\'s figures', async (t) => {
  const seed = liveSeed()
  seed.users = [{ id: 'u-a', name: 'Алиса Łódź' }, { id: 'u-c', name: 'Chloé' }]
  const { app, wsUrl } = await httpApp(t, {}, memoryStore(seed))
  const watcher = client(t, wsUrl, '/ws/matches/m2', as('u-fan'))
  const whole = client(t, wsUrl, '/ws/tournaments/t1', as('u-org'))
  await watcher.next()
  await whole.next()
  await app.matchcast.store.updateMatch('m1', 0, { startedAt: '2025-01-01T10:00:00.000Z' })
  const { payout } = await finalizeM1(app)
  await app.inject({ method: 'POST', url: `/payouts/${payout.id}/approve`, headers: bearer('u-org') })
  await app.matchcast.store.updateMatch('m2', 0, { state: 'disputed' })
  const res = await app.inject({ url: '/tournaments/t1/analytics/summary', headers: bearer('u-org') })
  t.equal(res.statusCode, 200)
  const body = res.json()
  const completedAt = (await app.matchcast.store.getMatch('m1'))!.completedAt!
  t.match(body, {
    tournamentId: 't1',
    matches: { total: 3, byState: { scheduled: 0, live: 1, disputed: 1, completed: 1, cancelled: 0 } },
    participants: { members: 3, inMatches: 3 },
    players: [
      { userId: 'u-a', name: 'Алиса Łódź', matches: 2, won: 1 },
      { userId: 'u-b', name: 'u-b', matches: 2, won: 0 },
      { userId: 'u-c', name: 'Chloé', matches: 2, won: 0 }
    ],
    averageMatchDurationMs: Date.parse(completedAt) - Date.parse('2025-01-01T10:00:00.000Z'),
    disputes: { open: 1 },
    payouts: { total: 1, byStatus: { pending: { count: 0, amounts: {} }, approved: { count: 1, amounts: { USD: 5000 } }, rejected: { count: 0, amounts: {} } } },
    connections: { instance: 2, tournament: 4 }
  })
  t.type(body.generatedAt, 'string')
})

t.test('analytics: organizers only; unknown tournaments are 404', async (t) => {
  const { app } = await httpApp(t)
  t.equal((await app.inject({ url: '/tournaments/t1/analytics/summary', headers: bearer('u-a') })).statusCode, 403)
  t.equal((await app.inject({ url: '/tournaments/t1/analytics/summary', headers: bearer('u-x') })).statusCode, 403)
  t.equal((await app.inject({ url: '/tournaments/nope/analytics/summary', headers: bearer('u-org') })).statusCode, 404)
  t.equal((await app.inject({ url: '/tournaments/t1/analytics/summary' })).statusCode, 401)
})

t.test('summarize: no timed completed match → null duration; amounts add up per currency', async (t) => {
  const base = { tournamentId: 't', participants: ['a', 'b'], scores: {}, winnerId: null, version: 0 }
  const at = '2025-01-01T00:00:00.000Z'
  const payout = (amount: number, currency: string) => ({ id: 'p', tournamentId: 't', matchId: 'm', userId: 'a', amount, currency, status: 'pending' as const, createdAt: at, updatedAt: at })
  const summary = summarize('t', [{ ...base, id: 'm1', state: 'completed', completedAt: at }, { ...base, id: 'm2', state: 'cancelled' }], 0,
    [payout(1, 'USD'), payout(2, 'USD'), payout(5, 'EUR')], { instance: 0, tournament: 0 }, new Date(at))
  t.equal(summary.averageMatchDurationMs, null)
  t.same(summary.payouts.byStatus.pending, { count: 3, amounts: { USD: 3, EUR: 5 } })
  t.equal(summary.generatedAt, at)
  t.same(summary.players, [{ userId: 'a', name: 'a', matches: 2, won: 0 }, { userId: 'b', name: 'b', matches: 2, won: 0 }], 'without names, by id; a winnerless completion is no win')
})

t.test('summarize: players with most wins first, ties by id; ids spelled like built-ins are ordinary', async (t) => {
  const at = '2025-01-01T00:00:00.000Z'
  const m = (id: string, participants: string[], winnerId: string | null, state: 'completed' | 'live' = 'completed') =>
    ({ id, tournamentId: 't', participants, scores: {}, winnerId, version: 0, state, completedAt: at })
  const summary = summarize('t', [m('m0', ['z', 'w'], null, 'live'), m('m1', ['x', '__proto__'], '__proto__'), m('m2', ['x', 'y'], 'y'), m('m3', ['y', '__proto__'], 'y'), m('m4', ['x', 'y'], 'x', 'live')],
    0, [], { instance: 0, tournament: 0 }, new Date(at), new Map([['__proto__', 'Proto']]))
  t.same(summary.players, [
    { userId: 'y', name: 'y', matches: 3, won: 2 },
    { userId: '__proto__', name: 'Proto', matches: 2, won: 1 },
    { userId: 'w', name: 'w', matches: 1, won: 0 },
    { userId: 'x', name: 'x', matches: 3, won: 0 },
    { userId: 'z', name: 'z', matches: 1, won: 0 }
  ])
})
