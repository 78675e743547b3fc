import t from 'tap'
import { memoryStore } from '../../../plugins/store/memory-store.js'
import type { Store } from '../../../plugins/store/store.js'
import { canonical, fingerprint } from '../../../routes/http/index.js'
import { pgStore } from '../../postgres.js'
import { appWithLogs, bearer, finalizeM1, httpApp, liveSeed } from './setup.js'

const approve = (id: string, user = 'u-org', key?: string, payload?: unknown) => ({
  method: 'POST' as const,
  url: `/payouts/${id}/approve`,
  headers: { ...bearer(user), ...(key !== undefined && { 'idempotency-key': key }) },
  ...(payload !== undefined && { payload: payload as Record<string, unknown> })
})
const reject = (id: string, reason: string, user = 'u-org', key?: string) => ({
  method: 'POST' as const,
  url: `/payouts/${id}/reject`,
  headers: { ...bearer(user), ...(key !== undefined && { 'idempotency-key': key }) },
  payload: { reason }
})

/** Counts the payout changes that applied (compare-and-set successes). */
function counting (store: Store): { store: Store, applied: () => number } {
  let applied = 0
  const setPayoutStatus = store.setPayoutStatus.bind(store)
  store.setPayoutStatus = async (...args) => {
    const result = await setPayoutStatus(...args)
    if (result !== undefined) applied++
    return result
  }
  return { store, applied: () => applied }
}

t.test('GET /tournaments/:id/payouts: organizers only', async (t) => {
  const { app } = await httpApp(t)
  const { payout } = await finalizeM1(app)
  const res = await app.inject({ url: '/tournaments/t1/payouts', headers: bearer('u-org') })
  t.equal(res.statusCode, 200)
  t.same(res.json(), { payouts: [payout] })
  t.equal((await app.inject({ url: '/tournaments/t1/payouts', headers: bearer('u-a') })).statusCode, 403)
  t.equal((await app.inject({ url: '/tournaments/t1/payouts', headers: bearer('u-x') })).statusCode, 403)
  t.equal((await app.inject({ url: '/tournaments/nope/payouts', headers: bearer('u-org') })).statusCode, 404)
  t.equal((await app.inject({ url: '/tournaments/t1/payouts' })).statusCode, 401)
})

t.test('approve: pending → approved; again is a no-op 200; rejecting it then is a 409', async (t) => {
  const { app } = await httpApp(t)
  const { payout } = await finalizeM1(app)
  const first = await app.inject(approve(payout.id))
  t.equal(first.statusCode, 200)
  t.match(first.json(), { payout: { id: payout.id, status: 'approved' } })
  t.equal(first.headers['idempotent-replayed'], undefined)
  const again = await app.inject(approve(payout.id))
  t.equal(again.statusCode, 200)
  t.same(again.json(), first.json(), 'nothing changed, not even updatedAt')
  const late = await app.inject(reject(payout.id, 'changed my mind'))
  t.equal(late.statusCode, 409)
  t.same(late.json(), { statusCode: 409, code: 'MATCHCAST_ERR_PAYOUT_INVALID_STATE', error: 'Conflict', message: `payout ${payout.id} is approved; it cannot become rejected` })
})

t.test('reject: needs a reason; rejecting again is a no-op; approving a rejected payout is a 409', async (t) => {
  const { app } = await httpApp(t)
  const { payout } = await finalizeM1(app)
  const missing = await app.inject({ method: 'POST', url: `/payouts/${payout.id}/reject`, headers: bearer('u-org'), payload: {} })
  t.equal(missing.statusCode, 400)
  t.match(missing.json(), { code: 'MATCHCAST_ERR_VALIDATION', message: 'body must have required properties reason' })
  const empty = await app.inject(reject(payout.id, ''))
  t.match(empty.json(), { statusCode: 400, message: /^body\/reason / })
  t.equal((await app.matchcast.store.getPayout(payout.id))!.status, 'pending', 'nothing written')
  const rejected = await app.inject(reject(payout.id, 'duplicate account'))
  t.match(rejected.json(), { payout: { status: 'rejected', reason: 'duplicate account' } })
  const again = await app.inject(reject(payout.id, 'another reason'))
  t.equal(again.statusCode, 200)
  t.equal(again.json().payout.reason, 'duplicate account', 'the first reason stays')
  const approving = await app.inject(approve(payout.id))
  t.equal(approving.statusCode, 409)
  t.match(approving.json(), { code: 'MATCHCAST_ERR_PAYOUT_INVALID_STATE' })
})

t.test('approve/reject: 401, 403 for non-organizers, 404 for unknown payouts, 400 for bad keys', async (t) => {
  const { app } = await httpApp(t)
  const { payout } = await finalizeM1(app)
  t.equal((await app.inject({ method: 'POST', url: `/payouts/${payout.id}/approve` })).statusCode, 401)
  t.equal((await app.inject(approve(payout.id, 'u-a'))).statusCode, 403, 'even the winner')
  t.equal((await app.inject(approve(payout.id, 'u-x'))).statusCode, 403)
  t.equal((await app.inject(approve('nope'))).statusCode, 404)
  const badKey = await app.inject(approve(payout.id, 'u-org', 'has space'))
  t.equal(badKey.statusCode, 400)
  t.match(badKey.json(), { message: /^headers\/idempotency-key / })
  t.equal((await app.matchcast.store.getPayout(payout.id))!.status, 'pending')
})

t.test('Idempotency-Key: same key and body replays the first response; another body is a 422', async (t) => {
  const { app } = await httpApp(t)
  const { payout } = await finalizeM1(app)
  const first = await app.inject(reject(payout.id, 'fraud', 'u-org', 'key-1'))
  t.equal(first.statusCode, 200)
  t.equal(first.headers['idempotent-replayed'], undefined)
  const replay = await app.inject(reject(payout.id, 'fraud', 'u-org', 'key-1'))
  t.equal(replay.statusCode, 200)
  t.equal(replay.headers['idempotent-replayed'], 'true')
  t.same(replay.json(), first.json())
  const other = await app.inject(reject(payout.id, 'another reason', 'u-org', 'key-1'))
  t.equal(other.statusCode, 422)
  t.match(other.json(), { statusCode: 422, code: 'MATCHCAST_ERR_IDEMPOTENCY_MISMATCH' })
  const otherRoute = await app.inject(approve(payout.id, 'u-org', 'key-1'))
  t.equal(otherRoute.statusCode, 422, 'the key is bound to the route too')
  // A 409 is kept and replayed like any answer.
  const conflict = await app.inject(approve(payout.id, 'u-org', 'key-2'))
  t.equal(conflict.statusCode, 409)
  const conflictAgain = await app.inject(approve(payout.id, 'u-org', 'key-2'))
  t.equal(conflictAgain.statusCode, 409)
  t.equal(conflictAgain.headers['idempotent-replayed'], 'true')
  t.same(conflictAgain.json(), conflict.json())
})

t.test('Idempotency-Key: keys are per user; body key order does not matter', async (t) => {
  const { app } = await httpApp(t)
  const { payout } = await finalizeM1(app)
  t.equal((await app.inject(approve(payout.id, 'u-org', 'shared'))).headers['idempotent-replayed'], undefined)
  const otherUser = await app.inject(approve(payout.id, 'u-org2', 'shared'))
  t.equal(otherUser.statusCode, 200)
  t.equal(otherUser.headers['idempotent-replayed'], undefined, 'another organizer\'s key of the same name is not a replay')
  await app.matchcast.store.updateMatch('m1', 1, { state: 'disputed' })
  // Another winner: the first one's payout is approved, and no one is paid twice for a match.
  const { payout: p2 } = await finalizeM1(app, { 'u-a': 1, 'u-b': 3 })
  const withBody = (body: string) => app.inject({ method: 'POST', url: `/payouts/${p2.id}/reject`, headers: { ...bearer('u-org'), 'idempotency-key': 'ordered', 'content-type': 'application/json' }, payload: body })
  t.equal((await withBody('{"reason":"x"}')).statusCode, 200)
  const replay = await withBody(' { "reason" : "x" } ')
  t.equal(replay.headers['idempotent-replayed'], 'true')
})

t.test('Idempotency-Key: a key still in flight is a 409; afterwards it replays', async (t) => {
  const store = memoryStore(liveSeed())
  const { app } = await httpApp(t, {}, store)
  const { payout } = await finalizeM1(app)
  let release!: () => void
  const gate = new Promise<void>((resolve) => { release = resolve })
  let entered!: () => void
  const inside = new Promise<void>((resolve) => { entered = resolve })
  const setPayoutStatus = store.setPayoutStatus.bind(store)
  store.setPayoutStatus = async (...args) => {
    entered()
    await gate
    return setPayoutStatus(...args)
  }
  const first = app.inject(approve(payout.id, 'u-org', 'slow'))
  await inside
  const second = await app.inject(approve(payout.id, 'u-org', 'slow'))
  t.equal(second.statusCode, 409)
  t.match(second.json(), { code: 'MATCHCAST_ERR_IDEMPOTENCY_IN_FLIGHT' })
  release()
  t.equal((await first).statusCode, 200)
  const third = await app.inject(approve(payout.id, 'u-org', 'slow'))
  t.equal(third.headers['idempotent-replayed'], 'true')
})

t.test('Idempotency-Key: a failure frees the key (500, message hidden and logged); a failing release is logged', async (t) => {
  const store = memoryStore(liveSeed())
  const { app, logs } = await appWithLogs(t, store)
  const { payout } = await finalizeM1(app)
  const setPayoutStatus = store.setPayoutStatus.bind(store)
  let fail = 1
  store.setPayoutStatus = async (...args) => {
    if (fail-- > 0) throw new Error('disk on fire')
    return setPayoutStatus(...args)
  }
  const failed = await app.inject(approve(payout.id, 'u-org', 'k'))
  t.equal(failed.statusCode, 500)
  t.same(failed.json(), { statusCode: 500, code: 'MATCHCAST_ERR_INTERNAL', error: 'Internal Server Error', message: 'Internal Server Error' })
  t.match(logs, [{ msg: 'request failed', err: { message: 'disk on fire' } }])
  const retried = await app.inject(approve(payout.id, 'u-org', 'k'))
  t.equal(retried.statusCode, 200)
  t.equal(retried.headers['idempotent-replayed'], undefined, 'the retry did the work')

  await app.matchcast.store.updateMatch('m1', 1, { state: 'disputed' })
  const { payout: p2 } = await finalizeM1(app, { 'u-a': 1, 'u-b': 3 })
  fail = 1
  store.abandonIdempotent = async () => { throw new Error('store gone') }
  t.equal((await app.inject(approve(p2.id, 'u-org', 'k2'))).statusCode, 500)
  t.match(logs.slice(1), [{ msg: 'renewing or releasing an idempotency key failed', err: { message: 'store gone' } }, { msg: 'request failed' }])
})

t.test('Idempotency-Key: kept for http.idempotencyTtlMs', async (t) => {
  // Long enough that the replay below lands inside it on a loaded machine.
  const { app } = await httpApp(t, { http: { idempotencyTtlMs: 300 } })
  const { payout } = await finalizeM1(app)
  t.equal((await app.inject(approve(payout.id, 'u-org', 'short'))).statusCode, 200)
  t.equal((await app.inject(approve(payout.id, 'u-org', 'short'))).headers['idempotent-replayed'], 'true')
  // A real wait: the store measures the key's age with its own clock.
  await new Promise((resolve) => setTimeout(resolve, 350))
  const expired = await app.inject(reject(payout.id, 'other body, same key', 'u-org', 'short'))
  t.equal(expired.statusCode, 409, 'treated as a new request (not a 422): the payout is approved')
  t.equal(expired.headers['idempotent-replayed'], undefined)
})

for (const [name, makeStore] of [
  ['memory', async () => memoryStore(liveSeed())],
  ['PostgreSQL', async (t: Parameters<typeof pgStore>[0]) => pgStore(t, liveSeed())]
] as const) {
  t.test(`Idempotency-Key: a key its crashed instance left in flight is taken over once its lease ran out, and runs once (${name} store)`, async (t) => {
    const counted = counting(await makeStore(t))
    const { app } = await httpApp(t, { http: { idempotencyLeaseMs: 1000 } }, counted.store)
    const { payout } = await finalizeM1(app)
    // The instance that began this request died: its claim is never renewed, finished or released.
    const body = fingerprint('POST', '/payouts/:payoutId/approve', { payoutId: payout.id }, null)
    await app.matchcast.store.beginIdempotent('u-org', 'orphan', body, 60_000, { owner: 'crashed-instance', ms: 200 })
    const early = await app.inject(approve(payout.id, 'u-org', 'orphan'))
    t.equal(early.statusCode, 409)
    t.equal(early.json().code, 'MATCHCAST_ERR_IDEMPOTENCY_IN_FLIGHT')
    // A real wait: the lease is measured by the store's clock.
    await new Promise((resolve) => setTimeout(resolve, 250))
    t.equal((await app.inject(approve(payout.id, 'u-org', 'orphan', { other: 1 }))).statusCode, 422, 'another body is still refused')
    const taken = await app.inject(approve(payout.id, 'u-org', 'orphan'))
    t.equal(taken.statusCode, 200)
    t.equal(taken.headers['idempotent-replayed'], undefined, 'the request ran')
    const replay = await app.inject(approve(payout.id, 'u-org', 'orphan'))
    t.equal(replay.headers['idempotent-replayed'], 'true')
    t.same(replay.json(), taken.json())
    t.equal(counted.applied(), 1, 'once')
  })
}

t.test('Idempotency-Key: a request that outlasts its lease keeps the key (renewed); a failed renewal is logged', async (t) => {
  const store = memoryStore(liveSeed())
  const { app, logs } = await appWithLogs(t, store, { http: { idempotencyLeaseMs: 150 } })
  const { payout } = await finalizeM1(app)
  const setPayoutStatus = store.setPayoutStatus.bind(store)
  let release: () => void = () => {}
  const slow = new Promise<void>((resolve) => { release = resolve })
  store.setPayoutStatus = async (...args) => {
    await slow
    return setPayoutStatus(...args)
  }
  const first = app.inject(approve(payout.id, 'u-org', 'slow'))
  // Three leases later the first request still holds its key.
  await new Promise((resolve) => setTimeout(resolve, 450))
  t.equal((await app.inject(approve(payout.id, 'u-org', 'slow'))).statusCode, 409)
  const renew = store.renewIdempotent.bind(store)
  store.renewIdempotent = async () => { throw new Error('store hiccup') }
  await new Promise((resolve) => setTimeout(resolve, 100))
  store.renewIdempotent = renew
  release()
  t.equal((await first).statusCode, 200)
  t.equal((await app.inject(approve(payout.id, 'u-org', 'slow'))).headers['idempotent-replayed'], 'true')
  t.match(logs, [{ msg: 'renewing or releasing an idempotency key failed', err: { message: 'store hiccup' } }])
})

for (const [name, makeStore] of [
  ['memory', async () => memoryStore(liveSeed())],
  ['PostgreSQL', async (t: Parameters<typeof pgStore>[0]) => pgStore(t, liveSeed())]
] as const) {
  t.test(`100 concurrent identical approvals change the payout exactly once (${name} store)`, async (t) => {
    const counted = counting(await makeStore(t))
    const { app } = await httpApp(t, {}, counted.store)
    const { payout } = await finalizeM1(app)
    const withKey = await Promise.all(Array.from({ length: 100 }, () => app.inject(approve(payout.id, 'u-org', 'same-key'))))
    t.equal(counted.applied(), 1)
    const statuses = withKey.map((r) => r.statusCode)
    t.ok(statuses.every((s) => s === 200 || s === 409), 'replays or in-flight refusals')
    t.ok(statuses.filter((s) => s === 200).length >= 1)
    for (const r of withKey.filter((r) => r.statusCode === 409)) t.equal(r.json().code, 'MATCHCAST_ERR_IDEMPOTENCY_IN_FLIGHT')
    const approved = (await app.matchcast.store.getPayout(payout.id))!
    for (const r of withKey.filter((r) => r.statusCode === 200)) t.same(r.json().payout, approved)

    await app.matchcast.store.updateMatch('m1', 1, { state: 'disputed' })
    const { payout: second } = await finalizeM1(app, { 'u-a': 1, 'u-b': 3 })
    const withoutKey = await Promise.all(Array.from({ length: 100 }, () => app.inject(approve(second.id))))
    t.equal(counted.applied(), 2, 'without a key, the status compare-and-set still applies one')
    t.ok(withoutKey.every((r) => r.statusCode === 200), 'the others are no-ops')
  })
}

t.test('canonical: object keys sorted at every depth, arrays kept in order', async (t) => {
  t.same(JSON.stringify(canonical({ b: [{ d: 1, c: 2 }, 3], a: null })), '{"a":null,"b":[{"c":2,"d":1},3]}')
})
