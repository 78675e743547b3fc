/**
 * Text PostgreSQL cannot store (NUL) and strings that are not Unicode (lone surrogates, which
 * UTF-8 would store altered) are bad input: a 400 naming the field over HTTP, `invalid_message`
 * over the WebSocket, the same on every store, and nothing is written. Real Unicode (accents,
 * emoji: surrogate pairs) is stored exactly.
 */
import t, { type Test } from 'tap'
import { memoryStore } from '../../plugins/store/memory-store.js'
import type { Store } from '../../plugins/store/store.js'
import { as, client, collectLogs, startApp } from '../helper.js'
import { pgStore } from '../postgres.js'
import { bearer, finalizeM1, liveSeed } from '../routes/http/setup.js'

const NUL = 'abc\u0000def'
const LONE_SURROGATE = 'abc\uD800def'
const UNICODE = 'Алиса Łódź 🏆 — fair play'

const STORES: ReadonlyArray<readonly [string, (t: Test) => Promise<Store>]> = [
  ['memory', async () => memoryStore(liveSeed())],
  ['PostgreSQL', (t) => pgStore(t, liveSeed())]
]

for (const [name, makeStore] of STORES) {
  t.test(`GET /certificates/verify/:code with a NUL is a 400 naming the code, logged as no error (${name} store)`, async (t) => {
    const { lines, logger } = collectLogs('info')
    const { app } = await startApp(t, { store: await makeStore(t) }, undefined, { logger })
    const res = await app.inject({ url: '/certificates/verify/abc%00def' })
    t.equal(res.statusCode, 400)
    t.match(res.json(), { statusCode: 400, code: 'MATCHCAST_ERR_VALIDATION', message: /^params\/code / })
    const surrogate = await app.inject({ url: '/certificates/verify/abc%ED%A0%80def' })
    t.equal(surrogate.statusCode, 400, 'a lone surrogate (as UTF-8 bytes) is refused too')
    t.same(lines.filter((l) => l.level >= 50), [], 'no error logged')
    const ok = await app.inject({ url: `/certificates/verify/${encodeURIComponent(UNICODE)}` })
    t.same(ok.json(), { valid: false, status: 'invalid' }, 'any other text is just not a valid code')
  })

  t.test(`POST /payouts/:id/reject: a reason PostgreSQL cannot store is a 400; Unicode is kept exactly (${name} store)`, async (t) => {
    const { app } = await startApp(t, { store: await makeStore(t), rateLimit: { http: { max: 1000 } } })
    const { payout } = await finalizeM1(app)
    for (const reason of [NUL, LONE_SURROGATE, '\uDFFF']) {
      const res = await app.inject({
        method: 'POST',
        url: `/payouts/${payout.id}/reject`,
        headers: { ...bearer('u-org'), 'content-type': 'application/json' },
        // JSON.stringify escapes a NUL as \u0000 and a lone surrogate as \udXXX: valid JSON.
        payload: JSON.stringify({ reason })
      })
      t.equal(res.statusCode, 400, JSON.stringify(reason))
      t.match(res.json(), { statusCode: 400, code: 'MATCHCAST_ERR_VALIDATION', message: /^body\/reason / })
    }
    t.match(await app.matchcast.store.getPayout(payout.id), { status: 'pending' }, 'nothing was written')
    const done = await app.inject({ method: 'POST', url: `/payouts/${payout.id}/reject`, headers: bearer('u-org'), payload: { reason: UNICODE } })
    t.equal(done.statusCode, 200)
    t.equal(done.json().payout.reason, UNICODE)
    t.equal((await app.matchcast.store.getPayout(payout.id))!.reason, UNICODE)
  })

  t.test(`WebSocket reasons PostgreSQL cannot store are invalid_message; Unicode is sent exactly (${name} store)`, async (t) => {
    const { app, wsUrl } = await startApp(t, { store: await makeStore(t) })
    const player = client(t, wsUrl, '/ws/matches/m1', as('u-a'))
    const org = client(t, wsUrl, '/ws/matches/m3', as('u-org'))
    t.match(await player.next(), { type: 'snapshot' })
    t.match(await org.next(), { type: 'snapshot' })
    player.send({ type: 'match.dispute', id: 1, reason: NUL })
    t.match(await player.next(), { type: 'error', id: 1, code: 'invalid_message', details: [{ path: '/reason' }] })
    org.send({ type: 'match.cancel', id: 2, reason: LONE_SURROGATE })
    t.match(await org.next(), { type: 'error', id: 2, code: 'invalid_message', details: [{ path: '/reason' }] })
    t.match(await app.matchcast.store.getMatch('m1'), { state: 'live', version: 0 })
    t.match(await app.matchcast.store.getMatch('m3'), { state: 'live', version: 0 })
    player.send({ type: 'match.dispute', id: 3, reason: UNICODE })
    // The ack and the (batched) event travel independently.
    const frames = [await player.next(), await player.next()]
    t.same(frames.find((f) => f.type === 'ack'), { type: 'ack', id: 3 })
    t.match(frames.find((f) => f.type === 'match_disputed'), { data: { reason: UNICODE } })
    t.same(player.invalid, [])
    t.same(org.invalid, [])
  })

  t.test(`a seed whose text PostgreSQL cannot store is refused, naming the field (${name} store)`, async (t) => {
    const seed = liveSeed()
    seed.tournaments[1]!.name = NUL
    const made = (async () => name === 'memory' ? memoryStore(seed) : pgStore(t, seed))()
    await t.rejects(made, { code: 'MATCHCAST_ERR_INVALID_OPTS', message: /store seed\/tournaments\/1\/name: / })
  })
}

t.test('a resume epoch holding a NUL is refused with 400 before the upgrade', async (t) => {
  const { wsUrl } = await startApp(t)
  const c = client(t, wsUrl, '/ws/matches/m1?lastSeq=0&epoch=a%00b', as('u-a'))
  t.equal(await Promise.race([c.refused, c.opened.then(() => 'upgraded')]), 400)
})

t.test('an Idempotency-Key holding a NUL is refused, naming the header', async (t) => {
  const { app } = await startApp(t)
  const res = await app.inject({ method: 'POST', url: '/payouts/p1/approve', headers: { ...bearer('u-org'), 'idempotency-key': 'k\u0000' } })
  t.equal(res.statusCode, 400)
  t.match(res.json(), { code: 'MATCHCAST_ERR_VALIDATION', message: /^headers\/idempotency-key / })
})
