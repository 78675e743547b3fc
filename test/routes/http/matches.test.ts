import t from 'tap'
import { client, as, token, type Client } from '../../helper.js'
import { memoryStore } from '../../../plugins/store/memory-store.js'
import { pgStore } from '../../postgres.js'
import { bearer, httpApp, liveSeed } from './setup.js'

/** Reads frames until the event `type` arrives (alone or in a batch). */
async function nextEvent (c: Client, type: string): Promise<Record<string, unknown>> {
  for (;;) {
    const frame = await c.next()
    const events = frame.type === 'batch' ? frame.events as Array<Record<string, unknown>> : [frame]
    const found = events.find((e) => e.type === type)
    if (found !== undefined) return found
  }
}

t.test('GET /matches/:matchId: members read it; others are refused', async (t) => {
  const { app } = await httpApp(t)
  const ok = await app.inject({ url: '/matches/m2', headers: bearer('u-fan') })
  t.equal(ok.statusCode, 200)
  t.match(ok.json(), { id: 'm2', tournamentId: 't1', state: 'live', version: 0, winnerId: null })
  const cases = [
    [{}, 401, 'MATCHCAST_ERR_AUTH_UNAUTHORIZED', /missing bearer token/],
    [{ authorization: 'Bearer not-a-jwt' }, 401, 'MATCHCAST_ERR_AUTH_UNAUTHORIZED', /./],
    [{ authorization: `Bearer ${token('u-a', { secret: 'another-secret-of-enough-length-000000' })}` }, 401, 'MATCHCAST_ERR_AUTH_UNAUTHORIZED', /./],
    [bearer('u-x'), 403, 'MATCHCAST_ERR_AUTH_FORBIDDEN', /not a member/]
  ] as const
  for (const [headers, statusCode, code, message] of cases) {
    const res = await app.inject({ url: '/matches/m2', headers })
    t.equal(res.statusCode, statusCode)
    t.match(res.json(), { statusCode, code, error: statusCode === 401 ? 'Unauthorized' : 'Forbidden', message })
  }
  const missing = await app.inject({ url: '/matches/nope', headers: bearer('u-org') })
  t.same(missing.json(), { statusCode: 404, code: 'MATCHCAST_ERR_NOT_FOUND', error: 'Not Found', message: 'match nope does not exist' })
  const bad = await app.inject({ url: '/matches/bad%20id', headers: bearer('u-org') })
  t.equal(bad.statusCode, 400)
  t.match(bad.json(), { code: 'MATCHCAST_ERR_VALIDATION', message: /^params\/matchId / })
})

t.test('finalize: completes, issues the certificate and the payout', async (t) => {
  const { app } = await httpApp(t)
  const res = await app.inject({ method: 'POST', url: '/matches/m1/finalize', headers: bearer('u-org'), payload: { scores: { 'u-a': 3, 'u-b': 1 } } })
  t.equal(res.statusCode, 200)
  const body = res.json()
  t.match(body, { match: { id: 'm1', state: 'completed', winnerId: 'u-a', scores: { 'u-a': 3, 'u-b': 1 }, version: 1 } })
  t.same(Object.keys(body.certificate).sort(), ['code', 'id', 'shortCode'])
  t.match(body.payout, { matchId: 'm1', userId: 'u-a', amount: 5000, currency: 'USD', status: 'pending' })
  const stored = await app.matchcast.store.getCertificate(body.certificate.id)
  t.match(stored, { matchId: 'm1', userId: 'u-a', code: body.certificate.code, tournamentName: 'Spring Cup' })
  t.same(await app.matchcast.store.getPayout(body.payout.id), body.payout)
})

t.test('finalize: winnerId decides; a match without a prize gets no payout', async (t) => {
  const { app } = await httpApp(t)
  const res = await app.inject({ method: 'POST', url: '/matches/m3/finalize', headers: bearer('u-org'), payload: { scores: { 'u-a': 2, 'u-c': 2 }, winnerId: 'u-c' } })
  t.equal(res.statusCode, 200)
  t.equal(res.json().match.winnerId, 'u-c')
  t.notOk('payout' in res.json())
})

t.test('finalize: refused requests write nothing', async (t) => {
  const { app } = await httpApp(t)
  const post = (payload: unknown, user = 'u-org', url = '/matches/m1/finalize') =>
    app.inject({ method: 'POST', url, headers: bearer(user), payload: payload as Record<string, unknown> })
  const cases: Array<[unknown, string, number, string, RegExp | string]> = [
    [{ scores: { 'u-a': -1, 'u-b': 0 } }, 'u-org', 400, 'MATCHCAST_ERR_VALIDATION', 'body/scores/u-a must be >= 0'],
    [{ scores: { 'u-a': 1.5 } }, 'u-org', 400, 'MATCHCAST_ERR_VALIDATION', 'body/scores/u-a must be integer'],
    [{}, 'u-org', 400, 'MATCHCAST_ERR_VALIDATION', /body must have required properties scores/],
    [{ scores: {}, extra: 1 }, 'u-org', 400, 'MATCHCAST_ERR_VALIDATION', 'body/extra is not allowed'],
    [{ scores: { 'u-a': 1, 'u-b': 1 } }, 'u-org', 400, 'MATCHCAST_ERR_BAD_REQUEST', 'winnerId: scores are tied; winnerId is required'],
    [{ scores: { 'u-a': 1, 'u-b': 0 }, winnerId: 'u-c' }, 'u-org', 400, 'MATCHCAST_ERR_BAD_REQUEST', /winnerId: u-c is not a participant/],
    [{ scores: { 'u-a': 1, 'u-z': 0 } }, 'u-org', 400, 'MATCHCAST_ERR_BAD_REQUEST', /scores: u-z is not a participant/],
    [{ scores: { 'u-a': 1, 'u-b': 0 } }, 'u-a', 403, 'MATCHCAST_ERR_AUTH_FORBIDDEN', /role/],
    [{ scores: { 'u-a': 1, 'u-b': 0 } }, 'u-fan', 403, 'MATCHCAST_ERR_AUTH_FORBIDDEN', /role/],
    [{ scores: { 'u-a': 1, 'u-b': 0 } }, 'u-x', 403, 'MATCHCAST_ERR_AUTH_FORBIDDEN', /not a member/]
  ]
  for (const [payload, user, statusCode, code, message] of cases) {
    const res = await post(payload, user)
    t.equal(res.statusCode, statusCode, JSON.stringify(payload))
    t.match(res.json(), { statusCode, code, message })
  }
  t.equal((await post({ scores: {} }, 'u-org', '/matches/nope/finalize')).statusCode, 404)
  t.equal((await app.inject({ method: 'POST', url: '/matches/m1/finalize', payload: { scores: {} } })).statusCode, 401)
  const m1 = await app.matchcast.store.getMatch('m1')
  t.match(m1, { state: 'live', version: 0 }, 'the match is untouched')
  t.equal(await app.matchcast.store.getCertificateByMatch('m1'), undefined)
  t.same(await app.matchcast.store.listPayouts('t1'), [])
})

t.test('finalize: from a state that does not allow it is a 409', async (t) => {
  const { app } = await httpApp(t)
  const first = await app.inject({ method: 'POST', url: '/matches/m1/finalize', headers: bearer('u-org'), payload: { scores: { 'u-a': 1, 'u-b': 0 } } })
  t.equal(first.statusCode, 200)
  const again = await app.inject({ method: 'POST', url: '/matches/m1/finalize', headers: bearer('u-org'), payload: { scores: { 'u-a': 1, 'u-b': 0 } } })
  t.equal(again.statusCode, 409)
  t.match(again.json(), { code: 'MATCHCAST_ERR_MATCH_INVALID_STATE', message: /completed/ })
  const scheduled = await app.inject({ method: 'POST', url: '/matches/m9/finalize', headers: bearer('u-x'), payload: { scores: { 'u-x': 1, 'u-y': 0 } } })
  t.equal(scheduled.statusCode, 409)
})

t.test('finalize over HTTP delivers match_completed to every live socket of the room', async (t) => {
  const { app, wsUrl } = await httpApp(t)
  const sockets = [client(t, wsUrl, '/ws/matches/m1', as('u-fan')), client(t, wsUrl, '/ws/matches/m1', as('u-a')), client(t, wsUrl, '/ws/tournaments/t1', as('u-org2'))]
  for (const c of sockets) t.match(await c.next(), { type: 'snapshot' })
  const res = await app.inject({ method: 'POST', url: '/matches/m1/finalize', headers: bearer('u-org'), payload: { scores: { 'u-a': 3, 'u-b': 1 } } })
  t.equal(res.statusCode, 200)
  for (const c of sockets) {
    const event = await nextEvent(c, 'match_completed')
    t.match(event, { type: 'match_completed', matchId: 'm1', data: { state: 'completed', winnerId: 'u-a', scores: { 'u-a': 3, 'u-b': 1 }, completedAt: res.json().match.completedAt, certificateId: res.json().certificate.id } })
    t.same(c.invalid, [])
  }
})

for (const [name, makeStore] of [
  ['memory', async () => memoryStore(liveSeed())],
  ['PostgreSQL', async (t: Parameters<typeof pgStore>[0]) => pgStore(t, liveSeed())]
] as const) {
  t.test(`parallel finalize over HTTP and WebSocket: exactly one wins (${name} store)`, async (t) => {
    const { app, wsUrl } = await httpApp(t, {}, await makeStore(t))
    const organizer = client(t, wsUrl, '/ws/matches/m1', as('u-org2'))
    await organizer.next()
    organizer.send({ type: 'match.finalize', id: 'ws', scores: { 'u-a': 0, 'u-b': 5 } })
    const requests = Array.from({ length: 5 }, () =>
      app.inject({ method: 'POST', url: '/matches/m1/finalize', headers: bearer('u-org'), payload: { scores: { 'u-a': 3, 'u-b': 1 } } }))
    const responses = await Promise.all(requests)
    let reply: Record<string, unknown>
    do reply = await organizer.next(); while (reply.type !== 'ack' && reply.type !== 'error')
    const httpWins = responses.filter((r) => r.statusCode === 200).length
    const wsWins = reply.type === 'ack' ? 1 : 0
    t.equal(httpWins + wsWins, 1, 'one finalize applied')
    for (const r of responses.filter((r) => r.statusCode !== 200)) t.equal(r.statusCode, 409)
    if (wsWins === 0) t.match(reply, { type: 'error', id: 'ws', code: /invalid_state|conflict/ })
    const match = (await app.matchcast.store.getMatch('m1'))!
    t.equal(match.version, 1)
    t.equal(match.winnerId, wsWins === 1 ? 'u-b' : 'u-a')
    t.equal((await app.matchcast.store.listPayouts('t1')).length, 1, 'one payout')
  })
}
