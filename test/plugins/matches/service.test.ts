/**
 * The results of a finalize are findable from everywhere a user looks (the event, the match, the
 * payout, the tournament's list), over the WebSocket and over HTTP; and a dispute that ends in
 * another result or a cancellation retires the earlier one.
 */
import t from 'tap'
import { memoryStore } from '../../../plugins/store/memory-store.js'
import type { Certificate, Payout } from '../../../schemas/common.js'
import { as, client, type Client } from '../../helper.js'
import { bearer, httpApp, liveSeed } from '../../routes/http/setup.js'

/** The next match event of `type` (alone or in a batch). */
async function nextEvent (c: Client, type: string): Promise<Record<string, unknown> & { data: Record<string, unknown> }> {
  for (;;) {
    const frame = await c.next()
    const events = (frame.type === 'batch' ? frame.events : [frame]) as Array<Record<string, unknown> & { data: Record<string, unknown> }>
    const found = events.find((e) => e.type === type)
    if (found !== undefined) return found
  }
}

async function reply (c: Client, id: string): Promise<Record<string, unknown>> {
  for (;;) {
    const frame = await c.next()
    if (frame.id === id) return frame
  }
}

t.test('finalize over the WebSocket: match_completed, the match, the payout and the list all name the certificate', async (t) => {
  const seed = liveSeed()
  seed.users = [{ id: 'u-a', name: 'Алиса Łódź' }]
  const { app, wsUrl } = await httpApp(t, {}, memoryStore(seed))
  const org = client(t, wsUrl, '/ws/matches/m1', as('u-org'))
  const fan = client(t, wsUrl, '/ws/tournaments/t1', as('u-fan'))
  t.match(await org.next(), { type: 'snapshot', names: { 'u-a': 'Алиса Łódź', 'u-b': 'u-b' } })
  t.match(await fan.next(), { type: 'snapshot', names: { 'u-a': 'Алиса Łódź', 'u-b': 'u-b', 'u-c': 'u-c' } })
  org.send({ type: 'match.finalize', id: 'fin', scores: { 'u-a': 3, 'u-b': 1 } })
  const event = await nextEvent(org, 'match_completed')
  const { certificateId } = event.data as { certificateId: string }
  t.match(certificateId, /^[0-9a-f-]{36}$/)
  t.same((await nextEvent(fan, 'match_completed')).data, event.data, 'the tournament room hears the same')
  t.match(await reply(org, 'fin'), { type: 'ack' })
  t.same(org.invalid, [])

  const match = (await app.inject({ url: '/matches/m1', headers: bearer('u-fan') })).json()
  t.equal(match.certificateId, certificateId, 'the match links to its certificate')
  const certificate = (await app.inject({ url: `/certificates/${certificateId}`, headers: bearer('u-a') })).json() as Certificate
  t.match(certificate, { id: certificateId, userId: 'u-a', matchId: 'm1', names: { 'u-a': 'Алиса Łódź', 'u-b': 'u-b' } })
  const [payout] = (await app.inject({ url: '/tournaments/t1/payouts', headers: bearer('u-org') })).json().payouts as Payout[]
  t.equal(payout!.certificateId, certificateId, 'the payout names the certificate of its result')
  const listed = (await app.inject({ url: '/tournaments/t1/certificates', headers: bearer('u-org') })).json().certificates as Certificate[]
  t.same(listed.map((c) => c.id), [certificateId])
  t.equal((await app.inject({ url: `/certificates/verify/${certificate.shortCode}` })).json().status, 'valid')
})

t.test('finalize over HTTP: the response, the event and the match name the same certificate', async (t) => {
  const { app, wsUrl } = await httpApp(t)
  const watcher = client(t, wsUrl, '/ws/matches/m1', as('u-b'))
  await watcher.next()
  const res = await app.inject({ method: 'POST', url: '/matches/m1/finalize', headers: bearer('u-org'), payload: { scores: { 'u-a': 3, 'u-b': 1 } } })
  const body = res.json()
  t.equal(body.match.certificateId, body.certificate.id)
  t.equal(body.payout.certificateId, body.certificate.id)
  t.match(body.certificate, { id: String, code: String, shortCode: String })
  t.equal((await nextEvent(watcher, 'match_completed')).data.certificateId, body.certificate.id)
})

t.test('a dispute that ends in a cancellation revokes the certificate and rejects the pending payout', async (t) => {
  const { app, wsUrl } = await httpApp(t)
  const first = (await app.inject({ method: 'POST', url: '/matches/m1/finalize', headers: bearer('u-org'), payload: { scores: { 'u-a': 3, 'u-b': 1 } } })).json()
  const loser = client(t, wsUrl, '/ws/matches/m1', as('u-b'))
  const org = client(t, wsUrl, '/ws/matches/m1', as('u-org'))
  await loser.next()
  await org.next()
  loser.send({ type: 'match.dispute', id: 'd', reason: 'they cheated' })
  t.match(await reply(loser, 'd'), { type: 'ack' })
  t.equal((await app.inject({ url: `/certificates/verify/${first.certificate.code}` })).json().status, 'valid', 'still valid while disputed')
  org.send({ type: 'match.cancel', id: 'c', reason: 'cheating confirmed' })
  t.match(await reply(org, 'c'), { type: 'ack' })
  const verified = (await app.inject({ url: `/certificates/verify/${first.certificate.code}` })).json()
  t.match(verified, { valid: false, status: 'revoked', certificate: { revokedReason: 'match m1 was cancelled after a dispute: cheating confirmed' } })
  const payout = (await app.inject({ url: '/tournaments/t1/payouts', headers: bearer('u-org') })).json().payouts[0]
  t.match(payout, { id: first.payout.id, status: 'rejected', reason: 'match m1 was cancelled after a dispute: cheating confirmed' })
  t.equal((await app.inject({ url: '/matches/m1', headers: bearer('u-org') })).json().certificateId, first.certificate.id, 'the match still names it (now revoked)')
})

t.test('re-finalizing after an approved payout: the approval stands, the same winner is not paid twice, another winner is', async (t) => {
  const { app } = await httpApp(t)
  const dispute = () => app.matchcast.matches.execute('m1', { userId: 'u-b', role: 'participant' }, { type: 'match.dispute', reason: 'recount' })
  const finalize = async (scores: Record<string, number>) => (await app.inject({ method: 'POST', url: '/matches/m1/finalize', headers: bearer('u-org'), payload: { scores } })).json()
  const first = await finalize({ 'u-a': 3, 'u-b': 1 })
  t.equal((await app.inject({ method: 'POST', url: `/payouts/${first.payout.id}/approve`, headers: bearer('u-org') })).statusCode, 200)
  await dispute()
  const same = await finalize({ 'u-a': 4, 'u-b': 1 })
  t.notOk('payout' in same, 'no second payout to the winner already paid')
  t.equal(same.match.winnerId, 'u-a')
  await dispute()
  const other = await finalize({ 'u-a': 1, 'u-b': 4 })
  t.match(other.payout, { userId: 'u-b', status: 'pending', certificateId: other.certificate.id })
  const payouts = (await app.inject({ url: '/tournaments/t1/payouts', headers: bearer('u-org') })).json().payouts as Payout[]
  t.same(payouts.map((p) => [p.userId, p.status]), [['u-a', 'approved'], ['u-b', 'pending']])
  const statuses = await Promise.all([first, same, other].map(async (r) => (await app.inject({ url: `/certificates/verify/${r.certificate.code}` })).json().status))
  t.same(statuses, ['revoked', 'revoked', 'valid'], 'only the last result\'s certificate stands')
})

t.test('a store that names no one (no getUserNames): certificates and snapshots show ids', async (t) => {
  const store = memoryStore(liveSeed())
  Object.defineProperty(store, 'getUserNames', { value: undefined })
  const { app, wsUrl } = await httpApp(t, {}, store)
  const watcher = client(t, wsUrl, '/ws/matches/m1', as('u-a'))
  t.match(await watcher.next(), { type: 'snapshot', names: { 'u-a': 'u-a', 'u-b': 'u-b' } })
  const { certificate } = (await app.inject({ method: 'POST', url: '/matches/m1/finalize', headers: bearer('u-org'), payload: { scores: { 'u-a': 3, 'u-b': 1 } } })).json()
  t.same((await app.inject({ url: `/certificates/${certificate.id}`, headers: bearer('u-a') })).json().names, { 'u-a': 'u-a', 'u-b': 'u-b' })
})
