/**
 * Re-finalizing a disputed match issued a second certificate and a second pending payout, and left
 * the first of each as they were: two valid certificates for one match, two payouts waiting for a
 * person to notice.
 */
import t from 'tap'
import { bearer, finalizeM1, httpApp } from '../routes/http/setup.js'

t.test('re-finalizing after a dispute revokes the first certificate and rejects the first pending payout', async (t) => {
  const { app } = await httpApp(t)
  const first = await finalizeM1(app)
  await app.matchcast.matches.execute('m1', { userId: 'u-b', role: 'participant' }, { type: 'match.dispute', reason: 'wrong score' })
  const res = await app.inject({ method: 'POST', url: '/matches/m1/finalize', headers: bearer('u-org'), payload: { scores: { 'u-a': 1, 'u-b': 3 } } })
  t.equal(res.statusCode, 200)
  const second = res.json()
  t.not(second.certificate.id, first.certificate.id)

  const payout = (await app.inject({ url: '/tournaments/t1/payouts', headers: bearer('u-org') })).json().payouts
    .find((p: { id: string }) => p.id === first.payout.id)
  t.equal(payout.status, 'rejected')
  t.match(payout.reason, /finalized again/)

  const verified = (await app.inject({ url: `/certificates/verify/${first.certificate.code}` })).json()
  t.equal(verified.valid, false, 'the first certificate no longer verifies')
  t.equal(verified.status, 'revoked')
})
