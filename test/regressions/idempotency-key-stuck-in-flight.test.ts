/**
 * A request with an `Idempotency-Key` whose instance crashed mid-request left the key "in flight"
 * with no stored response: every retry got 409 `MATCHCAST_ERR_IDEMPOTENCY_IN_FLIGHT` for the whole
 * key TTL (24 h). The key is now held under a lease that its holder renews; once the lease has run
 * out, the next request with the same key and body runs the request.
 */
import t from 'tap'
import { memoryStore } from '../../index.js'
import { fingerprint } from '../../routes/http/index.js'
import { bearer, finalizeM1, httpApp, liveSeed } from '../routes/http/setup.js'

t.test('a key whose holder crashed is free again once its lease ran out', async (t) => {
  const store = memoryStore(liveSeed())
  const { app } = await httpApp(t, {}, store)
  const { payout } = await finalizeM1(app)
  const body = fingerprint('POST', '/payouts/:payoutId/approve', { payoutId: payout.id }, null)
  // What the crashed instance left: a claim with a lease that already ran out.
  await (store.beginIdempotent as (...args: unknown[]) => Promise<unknown>)('u-org', 'k', body, 86_400_000, { owner: 'crashed', ms: 1 })
  await new Promise((resolve) => setTimeout(resolve, 5))
  const retry = await app.inject({ method: 'POST', url: `/payouts/${payout.id}/approve`, headers: { ...bearer('u-org'), 'idempotency-key': 'k' } })
  t.equal(retry.statusCode, 200)
  t.match(retry.json(), { payout: { id: payout.id, status: 'approved' } })
})
