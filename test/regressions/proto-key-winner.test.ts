/**
 * Ids may be spelled like built-in properties (`toString`, `constructor`, `__proto__`). Every map
 * keyed by such an id (scores, snapshot seqs, analytics totals) must be read by own keys only:
 * a score that is missing is 0, never `Object.prototype.toString`.
 */
import t from 'tap'
import type { Store } from '../../index.js'
import { memoryStore } from '../../plugins/store/memory-store.js'
import { summarize } from '../../plugins/matches/analytics.js'
import type { Match, Payout, Seed } from '../../schemas/common.js'
import { as, client, startApp } from '../helper.js'
import { pgStore } from '../postgres.js'
import { bearer } from '../routes/http/setup.js'

const PRIZE = { amount: 700, currency: 'EUR' }

function protoSeed (): Seed {
  const players = ['toString', 'constructor', '__proto__', 'valueOf', 'u-b']
  return {
    tournaments: [{ id: 'tp', name: 'Proto Cup' }],
    members: [
      { tournamentId: 'tp', userId: 'u-org', role: 'organizer' },
      ...players.map((userId) => ({ tournamentId: 'tp', userId, role: 'participant' as const }))
    ],
    matches: [
      { id: 'my', tournamentId: 'tp', participants: ['toString', 'u-b'], state: 'live', prize: PRIZE },
      { id: 'mc', tournamentId: 'tp', participants: ['constructor', '__proto__'], state: 'live', prize: PRIZE },
      { id: 'mp', tournamentId: 'tp', participants: ['__proto__', 'valueOf'], state: 'live', prize: PRIZE },
      { id: '__proto__', tournamentId: 'tp', participants: ['toString', 'valueOf'], state: 'scheduled' }
    ]
  }
}

const STORES: ReadonlyArray<readonly [string, (t: Parameters<typeof pgStore>[0]) => Promise<Store>]> = [
  ['memory', async () => memoryStore(protoSeed())],
  ['PostgreSQL', (t) => pgStore(t, protoSeed())]
]

for (const [name, makeStore] of STORES) {
  t.test(`HTTP finalize: a missing score is 0, not a built-in property (${name} store)`, async (t) => {
    const { app } = await startApp(t, { store: await makeStore(t) })
    const res = await app.inject({ method: 'POST', url: '/matches/my/finalize', headers: bearer('u-org'), payload: { scores: { 'u-b': 5 } } })
    t.equal(res.statusCode, 200)
    const body = res.json()
    t.match(body.match, { state: 'completed', winnerId: 'u-b', scores: { 'u-b': 5 } })
    t.match(await app.matchcast.store.getCertificate(body.certificate.id), { userId: 'u-b', matchId: 'my' })
    t.match(body.payout, { userId: 'u-b', amount: 700 })
    t.same((await app.matchcast.store.listPayouts('tp')).map((p) => p.userId), ['u-b'], 'the prize goes to u-b only')
  })

  t.test(`HTTP finalize: a score keyed "__proto__" is an ordinary score (${name} store)`, async (t) => {
    const { app } = await startApp(t, { store: await makeStore(t) })
    const res = await app.inject({
      method: 'POST',
      url: '/matches/mp/finalize',
      headers: { ...bearer('u-org'), 'content-type': 'application/json' },
      payload: '{"scores":{"__proto__":4,"valueOf":1}}'
    })
    t.equal(res.statusCode, 200, res.body)
    const { match, certificate, payout } = res.json()
    t.equal(match.winnerId, '__proto__')
    // Own keys in any order (PostgreSQL's jsonb orders keys its own way).
    const entries = (scores: object) => Object.entries(scores).sort()
    t.same(entries(match.scores), [['__proto__', 4], ['valueOf', 1]])
    const stored = (await app.matchcast.store.getMatch('mp'))!
    t.same(entries(stored.scores), [['__proto__', 4], ['valueOf', 1]], 'stored as own keys')
    t.equal(Object.getPrototypeOf(stored.scores), Object.prototype)
    const issued = (await app.matchcast.store.getCertificate(certificate.id))!
    t.equal(issued.userId, '__proto__')
    t.same(entries(issued.scores), [['__proto__', 4], ['valueOf', 1]])
    t.ok(app.matchcast.matches.signer.verify(issued, issued.code))
    t.equal(payout.userId, '__proto__')
  })

  t.test(`WebSocket finalize: no scores on ["constructor","__proto__"] is a tie, refused (${name} store)`, async (t) => {
    const { app, wsUrl } = await startApp(t, { store: await makeStore(t) })
    const org = client(t, wsUrl, '/ws/matches/mc', as('u-org'))
    t.match(await org.next(), { type: 'snapshot' })
    org.send({ type: 'match.finalize', id: 'f', scores: {} })
    t.same(await org.next(), { type: 'error', id: 'f', code: 'invalid_message', message: 'winnerId: scores are tied; winnerId is required' })
    org.send('{"type":"match.finalize","id":"g","scores":{"__proto__":2}}')
    t.match(await org.next(), { type: 'match_completed', data: { winnerId: '__proto__', scores: { __proto__: 2 } } })
    t.same(await org.next(), { type: 'ack', id: 'g' })
    t.match(await app.matchcast.store.getMatch('mc'), { state: 'completed', winnerId: '__proto__', version: 1 })
    t.match(await app.matchcast.store.getPayoutByMatch('mc'), { userId: '__proto__' })
    t.same(org.invalid, [])
  })

  t.test(`tournament snapshot: seqs holds a match whose id is "__proto__" (${name} store)`, async (t) => {
    const { app, wsUrl } = await startApp(t, { store: await makeStore(t) })
    const watcher = client(t, wsUrl, '/ws/tournaments/tp', as('u-b'))
    const snapshot = await watcher.next<{ seqs: Record<string, number> }>()
    t.same(Object.entries(snapshot.seqs).sort(), [['__proto__', 0], ['mc', 0], ['mp', 0], ['my', 0]])
    // The room follows that match from its snapshot position: its first event is delivered.
    const org = client(t, wsUrl, '/ws/matches/__proto__', as('u-org'))
    await org.next()
    org.send({ type: 'match.start' })
    t.match(await watcher.next(), { type: 'match_started', matchId: '__proto__', seq: 1 })
    t.same(watcher.invalid, [])
    t.equal(app.matchcast.connections.size, 2)
  })
}

t.test('analytics: totals per currency and state are counted by own keys', async (t) => {
  const at = '2025-01-01T00:00:00.000Z'
  const payout = (currency: string, status: string, amount: number) => ({
    id: `p-${currency}-${status}`, tournamentId: 'tp', matchId: 'my', userId: 'u-b', amount, currency, status, createdAt: at, updatedAt: at
  }) as Payout
  const match = (id: string, state: string) => ({ id, tournamentId: 'tp', state, participants: ['a', 'b'], scores: {}, winnerId: null, version: 0 }) as unknown as Match
  const summary = summarize('tp', [match('m1', 'live'), match('m2', 'toString'), match('m3', '__proto__')], 2, [
    payout('constructor', 'pending', 5), payout('constructor', 'pending', 1), payout('__proto__', 'pending', 7),
    payout('toString', 'approved', 2), payout('USD', 'hasOwnProperty', 9)
  ], { instance: 0, tournament: 0 }, new Date(at))
  t.same(summary.matches.byState, { scheduled: 0, live: 1, disputed: 0, completed: 0, cancelled: 0 }, 'unknown states are not counted')
  t.same(Object.entries(summary.payouts.byStatus.pending.amounts), [['constructor', 6], ['__proto__', 7]])
  t.same(summary.payouts.byStatus.pending.count, 3)
  t.same(Object.entries(summary.payouts.byStatus.approved.amounts), [['toString', 2]])
  t.same(summary.payouts.byStatus.rejected, { count: 0, amounts: {} })
  t.same(Object.keys(summary.payouts.byStatus), ['pending', 'approved', 'rejected'], 'unknown statuses are not counted')
})
