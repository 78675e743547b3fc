/**
 * The Store contract (plugins/store/store.ts), run against every implementation: the memory store
 * and PostgreSQL. Each test gets a fresh store holding `conformanceSeed()`.
 */
import { randomBytes } from 'node:crypto'
import type { TestLike } from './test-like.js'
import type { Certificate, Payout, Seed } from '../schemas/common.js'
import { shortCodeOf } from '../plugins/certificates/codes.js'
import { canPrune, type IdempotencyPruning, type Store } from '../plugins/store/store.js'

export type StoreFactory = (t: TestLike, seed: Seed) => Promise<Store>

const T0 = '2025-03-01T10:00:00.000Z'
const T1 = '2025-03-01T10:30:00.000Z'

export function conformanceSeed (): Seed {
  return {
    tournaments: [{ id: 't1', name: 'Spring Cup' }, { id: 't2', name: 'Other Cup' }],
    users: [{ id: 'u-a', name: 'Алиса Łódź' }, { id: 'u-b', name: 'Bob' }, { id: '__proto__', name: 'Proto' }],
    members: [
      { tournamentId: 't1', userId: 'u-org', role: 'organizer' },
      { tournamentId: 't1', userId: 'u-a', role: 'participant' },
      { tournamentId: 't1', userId: 'u-b', role: 'participant' },
      { tournamentId: 't1', userId: 'u-fan', role: 'spectator' },
      { tournamentId: 't2', userId: 'u-a', role: 'organizer' }
    ],
    matches: [
      // Out of id order on purpose: listMatches sorts by id.
      { id: 'm3', tournamentId: 't1', participants: ['u-a', 'u-b'], state: 'live', scores: { 'u-a': 2, 'u-b': 1 }, startedAt: T0 },
      { id: 'm1', tournamentId: 't1', participants: ['u-a', 'u-b'], prize: { amount: 5000, currency: 'USD' } },
      { id: 'm2', tournamentId: 't1', participants: ['u-b', 'u-a'], state: 'completed', winnerId: 'u-b', startedAt: T0, completedAt: T1 },
      { id: 'm9', tournamentId: 't2', participants: ['u-x', 'u-y'] }
    ]
  }
}

let counter = 0
const unique = (prefix: string) => `${prefix}-${process.pid}-${++counter}`

function certificateFor (matchId: string, userId = 'u-a', tournamentId = 't1'): Certificate {
  // A code shaped like a real one: 64 bytes of base64url, so its short code means something.
  const code = randomBytes(64).toString('base64url')
  return {
    id: unique('c'),
    code,
    shortCode: shortCodeOf(code),
    tournamentId,
    tournamentName: 'Spring Cup',
    matchId,
    userId,
    scores: { 'u-a': 3, 'u-b': 1 },
    names: { 'u-a': 'Алиса Łódź', 'u-b': 'Bob' },
    issuer: 'Spring League',
    issuedAt: T1
  }
}

function payoutFor (matchId: string, userId = 'u-a', at = T1, certificateId?: string): Payout {
  return { id: unique('p'), tournamentId: 't1', matchId, userId, amount: 5000, currency: 'USD', status: 'pending', createdAt: at, updatedAt: at, ...(certificateId !== undefined && { certificateId }) }
}

const T2 = '2025-03-02T09:00:00.000Z'
/** A lease long enough never to run out within a test. */
const LEASE = { owner: 'instance-1', ms: 60_000 }
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

const finalPatch = { state: 'completed' as const, scores: { 'u-a': 3, 'u-b': 1 }, winnerId: 'u-a', completedAt: T1 }

export function storeSuite (t: TestLike, factory: StoreFactory): void {
  const fresh = (t: TestLike) => factory(t, conformanceSeed())

  t.test('tournaments, roles and members', async (t) => {
    const store = await fresh(t)
    t.same(await store.getTournament('t1'), { id: 't1', name: 'Spring Cup' })
    t.equal(await store.getTournament('nope'), undefined)
    t.equal(await store.getRole('t1', 'u-org'), 'organizer')
    t.equal(await store.getRole('t2', 'u-a'), 'organizer', 'roles are per tournament')
    t.equal(await store.getRole('t1', 'u-x'), undefined)
    const members = await store.listMembers('t1')
    t.same(members.map((m) => m.userId).sort(), ['u-a', 'u-b', 'u-fan', 'u-org'])
    t.same(members.find((m) => m.userId === 'u-fan'), { tournamentId: 't1', userId: 'u-fan', role: 'spectator' })
    t.same(await store.listMembers('nope'), [])
  })

  t.test('user names: the seed\'s names of the users asked for; users without one are left out', async (t) => {
    const store = await fresh(t)
    const names = await store.getUserNames!(['u-a', 'u-b', 'u-x', '__proto__', 'toString'])
    t.ok(names instanceof Map)
    t.same([...names].sort(), [['__proto__', 'Proto'], ['u-a', 'Алиса Łódź'], ['u-b', 'Bob']])
    t.same([...await store.getUserNames!([])], [])
  })

  t.test('matches: seed defaults, every field, ordered lists', async (t) => {
    const store = await fresh(t)
    t.same(await store.getMatch('m1'), {
      id: 'm1',
      tournamentId: 't1',
      state: 'scheduled',
      participants: ['u-a', 'u-b'],
      scores: { 'u-a': 0, 'u-b': 0 },
      winnerId: null,
      version: 0,
      prize: { amount: 5000, currency: 'USD' }
    })
    t.same(await store.getMatch('m2'), {
      id: 'm2',
      tournamentId: 't1',
      state: 'completed',
      participants: ['u-b', 'u-a'],
      scores: { 'u-b': 0, 'u-a': 0 },
      winnerId: 'u-b',
      version: 0,
      startedAt: T0,
      completedAt: T1
    })
    t.same((await store.getMatch('m2'))!.participants, ['u-b', 'u-a'], 'participant order is kept')
    t.equal(await store.getMatch('nope'), undefined)
    t.same((await store.listMatches('t1')).map((m) => m.id), ['m1', 'm2', 'm3'])
    t.same(await store.listMatches('nope'), [])
  })

  t.test('reads are copies: changing a returned object changes nothing stored', async (t) => {
    const store = await fresh(t)
    const match = (await store.getMatch('m3'))!
    match.scores['u-a'] = 99
    match.participants.push('u-z')
    match.state = 'cancelled'
    t.same(await store.getMatch('m3'), { ...(await store.getMatch('m3'))!, scores: { 'u-a': 2, 'u-b': 1 }, participants: ['u-a', 'u-b'], state: 'live' })
    const [listed] = await store.listMatches('t1')
    listed!.scores['u-a'] = 42
    t.equal((await store.getMatch('m1'))!.scores['u-a'], 0)
  })

  t.test('updateMatch: a compare-and-set on version', async (t) => {
    const store = await fresh(t)
    const started = await store.updateMatch('m1', 0, { state: 'live', startedAt: T0 })
    t.match(started, { id: 'm1', state: 'live', startedAt: T0, version: 1 })
    t.same(await store.getMatch('m1'), started, 'the result is what is stored')
    t.equal(await store.updateMatch('m1', 0, { state: 'cancelled' }), undefined, 'a stale version changes nothing')
    t.equal((await store.getMatch('m1'))!.state, 'live')
    const scored = await store.updateMatch('m1', 1, { scores: { 'u-a': 4, 'u-b': 2 } })
    t.same(scored!.scores, { 'u-a': 4, 'u-b': 2 })
    t.equal(scored!.version, 2)
    t.equal(scored!.state, 'live', 'fields outside the patch stay')
    const won = await store.updateMatch('m1', 2, { state: 'completed', winnerId: 'u-a', completedAt: T1 })
    t.match(won, { winnerId: 'u-a', completedAt: T1, startedAt: T0, version: 3 })
    const cleared = await store.updateMatch('m1', 3, { winnerId: null })
    t.equal(cleared!.winnerId, null, 'winnerId can be cleared')
    t.equal(await store.updateMatch('nope', 0, { state: 'live' }), undefined)
    const empty = await store.updateMatch('m1', 4, {})
    t.equal(empty!.version, 5, 'an empty patch still bumps the version')
  })

  t.test('scores keyed by ids spelled like built-in properties round-trip as own keys', async (t) => {
    const store = await fresh(t)
    const scores = Object.fromEntries([['__proto__', 3], ['constructor', 1], ['toString', 0]])
    const own = (value: object) => Object.entries(value).sort()
    const expected = [['__proto__', 3], ['constructor', 1], ['toString', 0]]
    t.same(own((await store.updateMatch('m3', 0, { scores }))!.scores), expected)
    const stored = (await store.getMatch('m3'))!
    t.same(own(stored.scores), expected)
    t.equal(Object.getPrototypeOf(stored.scores), Object.prototype, 'a plain object, its prototype untouched')
    const certificate = { ...certificateFor('m1', '__proto__'), scores }
    await store.completeMatch('m1', 0, { ...finalPatch, scores, winnerId: '__proto__' }, certificate, payoutFor('m1', '__proto__'))
    t.same(own((await store.getMatch('m1'))!.scores), expected)
    t.same(own((await store.getCertificate(certificate.id))!.scores), expected)
    t.equal((await store.getPayoutByMatch('m1'))!.userId, '__proto__')
  })

  t.test('updateMatch race: of 20 writers on one version, exactly one wins', async (t) => {
    const store = await fresh(t)
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => store.updateMatch('m3', 0, { scores: { 'u-a': i, 'u-b': 0 } })))
    const winners = results.filter((r) => r !== undefined)
    t.equal(winners.length, 1)
    const stored = (await store.getMatch('m3'))!
    t.equal(stored.version, 1)
    t.same(stored.scores, winners[0]!.scores)
  })

  t.test('completeMatch writes the match, the certificate and the payout together', async (t) => {
    const store = await fresh(t)
    const certificate = certificateFor('m1')
    const payout = payoutFor('m1')
    const done = await store.completeMatch('m1', 0, finalPatch, certificate, payout)
    t.match(done, { id: 'm1', state: 'completed', winnerId: 'u-a', version: 1, completedAt: T1 })
    t.same(await store.getCertificate(certificate.id), certificate)
    t.same(await store.getCertificateByCode(certificate.code), certificate)
    t.same(await store.getCertificateByMatch('m1'), certificate)
    t.same(await store.getPayout(payout.id), payout)
    t.same(await store.getPayoutByMatch('m1'), payout)
    t.same(await store.listPayouts('t1'), [payout])
    t.same(await store.listPayouts('t2'), [])
    t.equal(await store.getCertificate('nope'), undefined)
    t.equal(await store.getCertificateByCode('nope'), undefined)
    t.equal(await store.getCertificateByMatch('m3'), undefined)
    t.equal(await store.getPayout('nope'), undefined)
    t.equal(await store.getPayoutByMatch('m3'), undefined)
  })

  t.test('completeMatch without a payout writes none; the certificate is a copy', async (t) => {
    const store = await fresh(t)
    const certificate = certificateFor('m3')
    t.ok(await store.completeMatch('m3', 0, finalPatch, certificate))
    certificate.scores['u-a'] = 100
    t.equal((await store.getCertificateByMatch('m3'))!.scores['u-a'], 3)
    t.equal(await store.getPayoutByMatch('m3'), undefined)
    t.same(await store.listPayouts('t1'), [])
    const read = (await store.getCertificate((await store.getCertificateByMatch('m3'))!.id))!
    read.scores['u-a'] = 7
    t.equal((await store.getCertificateByMatch('m3'))!.scores['u-a'], 3)
  })

  t.test('completeMatch on a stale version writes nothing at all', async (t) => {
    const store = await fresh(t)
    await store.updateMatch('m1', 0, { state: 'live' })
    const certificate = certificateFor('m1')
    const payout = payoutFor('m1')
    t.equal(await store.completeMatch('m1', 0, finalPatch, certificate, payout), undefined)
    t.equal(await store.getCertificate(certificate.id), undefined)
    t.equal(await store.getPayout(payout.id), undefined)
    t.equal((await store.getMatch('m1'))!.state, 'live')
    t.equal(await store.completeMatch('nope', 0, finalPatch, certificateFor('nope')), undefined)
  })

  t.test('completeMatch race: of 10 finalizes on one version, one match change, one certificate, one payout', async (t) => {
    const store = await fresh(t)
    const attempts = Array.from({ length: 10 }, () => ({ certificate: certificateFor('m1'), payout: payoutFor('m1') }))
    const results = await Promise.all(attempts.map((a) => store.completeMatch('m1', 0, finalPatch, a.certificate, a.payout)))
    t.equal(results.filter((r) => r !== undefined).length, 1)
    const won = attempts[results.findIndex((r) => r !== undefined)]!
    t.same(await store.getCertificateByMatch('m1'), won.certificate)
    t.same(await store.listPayouts('t1'), [won.payout])
    for (const a of attempts.filter((a) => a !== won)) t.equal(await store.getCertificate(a.certificate.id), undefined)
  })

  t.test('payouts: listed in creation order; first certificate and payout of a match', async (t) => {
    const store = await fresh(t)
    const first = payoutFor('m1', 'u-a', T0)
    const second = payoutFor('m3', 'u-b', T1)
    const firstCertificate = certificateFor('m1')
    await store.completeMatch('m1', 0, finalPatch, firstCertificate, first)
    await store.completeMatch('m3', 0, finalPatch, certificateFor('m3'), second)
    // A disputed, then re-finalized match gets another certificate and payout; lookups by match give the first.
    await store.updateMatch('m1', 1, { state: 'disputed' })
    await store.completeMatch('m1', 2, finalPatch, certificateFor('m1'), payoutFor('m1'))
    t.same((await store.listPayouts('t1')).slice(0, 2).map((p) => p.id), [first.id, second.id])
    t.equal((await store.listPayouts('t1')).length, 3)
    t.equal((await store.getPayoutByMatch('m1'))!.id, first.id)
    t.equal((await store.getCertificateByMatch('m1'))!.id, firstCertificate.id)
  })

  t.test('certificates: every field round-trips; found by short code; listed per tournament in issue order', async (t) => {
    const store = await fresh(t)
    const first = certificateFor('m1')
    const second = certificateFor('m3', 'u-b')
    await store.completeMatch('m1', 0, { ...finalPatch, certificateId: first.id }, first, payoutFor('m1', 'u-a', T1, first.id))
    await store.completeMatch('m3', 0, finalPatch, second)
    t.same(await store.getCertificate(first.id), first)
    t.same(await store.getCertificateByShortCode(first.shortCode), first)
    t.same(await store.getCertificateByShortCode(second.shortCode), second)
    t.equal(await store.getCertificateByShortCode('0000-0000-0000'), undefined)
    t.same((await store.listCertificates('t1')).map((c) => c.id), [first.id, second.id])
    t.same(await store.listCertificates('t2'), [])
    t.equal((await store.getMatch('m1'))!.certificateId, first.id, 'the match names its certificate')
    t.notOk('certificateId' in (await store.getMatch('m3'))!, 'not unless the patch does')
    t.equal((await store.getPayoutByMatch('m1'))!.certificateId, first.id, 'the payout names the certificate of its result')
  })

  t.test('certificates issued before names were signed (no names, no issuer) round-trip as they were', async (t) => {
    const store = await fresh(t)
    const { names: _names, issuer: _issuer, ...legacy } = certificateFor('m1')
    await store.completeMatch('m1', 0, finalPatch, legacy)
    t.same(await store.getCertificate(legacy.id), legacy)
    t.same(await store.getCertificateByShortCode(legacy.shortCode), legacy)
  })

  t.test('completeMatch with a retirement: earlier certificates revoked, pending payouts rejected, in the same write', async (t) => {
    const store = await fresh(t)
    const first = certificateFor('m1')
    const firstPayout = payoutFor('m1', 'u-a', T1, first.id)
    await store.completeMatch('m1', 0, finalPatch, first, firstPayout)
    await store.completeMatch('m3', 0, finalPatch, certificateFor('m3'), payoutFor('m3'))
    await store.updateMatch('m1', 1, { state: 'disputed' })
    const second = certificateFor('m1', 'u-b')
    const secondPayout = payoutFor('m1', 'u-b', T2, second.id)
    const retire = { at: T2, reason: 'finalized again' }
    t.equal(await store.completeMatch('m1', 1, finalPatch, second, secondPayout, undefined, retire), undefined, 'a stale version writes nothing')
    t.notOk((await store.getCertificate(first.id))!.revokedAt, 'not even the retirement')
    t.match(await store.completeMatch('m1', 2, { ...finalPatch, winnerId: 'u-b' }, second, secondPayout, undefined, retire), { version: 3, winnerId: 'u-b' })
    t.same(await store.getCertificate(first.id), { ...first, revokedAt: T2, revokedReason: 'finalized again' })
    t.same(await store.getCertificate(second.id), second, 'the new certificate stands')
    t.match(await store.getPayout(firstPayout.id), { status: 'rejected', reason: 'finalized again', updatedAt: T2 })
    t.same(await store.getPayout(secondPayout.id), secondPayout)
    t.equal((await store.listPayouts('t1')).filter((p) => p.matchId === 'm3' && p.status === 'pending').length, 1, 'other matches are untouched')
    t.notOk((await store.listCertificates('t1')).find((c) => c.matchId === 'm3')!.revokedAt)
  })

  t.test('completeMatch with a retirement pays no one twice: an approved payout of the match to the same user stays, and no new one is written', async (t) => {
    const store = await fresh(t)
    const firstPayout = payoutFor('m1')
    await store.completeMatch('m1', 0, finalPatch, certificateFor('m1'), firstPayout)
    await store.setPayoutStatus(firstPayout.id, 'pending', 'approved')
    await store.updateMatch('m1', 1, { state: 'disputed' })
    const again = payoutFor('m1', 'u-a', T2)
    t.ok(await store.completeMatch('m1', 2, finalPatch, certificateFor('m1'), again, undefined, { at: T2, reason: 'again' }))
    t.equal((await store.getPayout(firstPayout.id))!.status, 'approved', 'an approved payout is not taken back')
    t.equal(await store.getPayout(again.id), undefined, 'the same winner is not paid again')
    await store.updateMatch('m1', 3, { state: 'disputed' })
    const other = payoutFor('m1', 'u-b', T2)
    await store.completeMatch('m1', 4, { ...finalPatch, winnerId: 'u-b' }, certificateFor('m1', 'u-b'), other, undefined, { at: T2, reason: 'again' })
    t.same(await store.getPayout(other.id), other, 'another winner is paid')
    const plain = payoutFor('m3', 'u-a')
    await store.completeMatch('m3', 0, finalPatch, certificateFor('m3'), plain)
    t.same(await store.getPayout(plain.id), plain, 'without a retirement a payout is always written')
  })

  t.test('updateMatch with a retirement (a cancel after a dispute): the result is retired with the change, and only then', async (t) => {
    const store = await fresh(t)
    const certificate = certificateFor('m1')
    const payout = payoutFor('m1')
    await store.completeMatch('m1', 0, finalPatch, certificate, payout)
    await store.updateMatch('m1', 1, { state: 'disputed' })
    const retire = { at: T2, reason: 'cancelled after a dispute' }
    t.equal(await store.updateMatch('m1', 1, { state: 'cancelled' }, undefined, retire), undefined)
    t.equal((await store.getPayout(payout.id))!.status, 'pending', 'a stale version retires nothing')
    t.match(await store.updateMatch('m1', 2, { state: 'cancelled' }, undefined, retire), { state: 'cancelled', version: 3 })
    t.match(await store.getCertificate(certificate.id), { revokedAt: T2, revokedReason: 'cancelled after a dispute' })
    t.match(await store.getPayout(payout.id), { status: 'rejected', reason: 'cancelled after a dispute' })
    t.ok(await store.updateMatch('m3', 0, { state: 'cancelled' }, undefined, retire), 'a match without a result retires nothing')
  })

  t.test('setPayoutStatus: a compare-and-set on status', async (t) => {
    const store = await fresh(t)
    const payout = payoutFor('m1')
    await store.completeMatch('m1', 0, finalPatch, certificateFor('m1'), payout)
    t.equal(await store.setPayoutStatus(payout.id, 'approved', 'rejected'), undefined, 'wrong from: nothing changes')
    const approved = await store.setPayoutStatus(payout.id, 'pending', 'approved')
    t.match(approved, { id: payout.id, status: 'approved', amount: 5000, currency: 'USD', createdAt: payout.createdAt })
    t.notOk('reason' in approved!, 'no reason unless given')
    t.ok(Date.parse(approved!.updatedAt) >= Date.parse(payout.updatedAt), 'updatedAt moves')
    t.same(await store.getPayout(payout.id), approved)
    t.equal(await store.setPayoutStatus(payout.id, 'pending', 'rejected', 'late'), undefined)
    t.equal(await store.setPayoutStatus('nope', 'pending', 'approved'), undefined)

    const other = payoutFor('m3')
    await store.completeMatch('m3', 0, finalPatch, certificateFor('m3'), other)
    const rejected = await store.setPayoutStatus(other.id, 'pending', 'rejected', 'fraud check failed')
    t.match(rejected, { status: 'rejected', reason: 'fraud check failed' })
    const read = (await store.getPayout(other.id))!
    read.reason = 'changed'
    t.equal((await store.getPayout(other.id))!.reason, 'fraud check failed', 'reads are copies')
  })

  t.test('setPayoutStatus race: of 20 approvals, exactly one applies', async (t) => {
    const store = await fresh(t)
    const payout = payoutFor('m1')
    await store.completeMatch('m1', 0, finalPatch, certificateFor('m1'), payout)
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) =>
      store.setPayoutStatus(payout.id, 'pending', i % 2 === 0 ? 'approved' : 'rejected', i % 2 === 0 ? undefined : 'no')))
    const applied = results.filter((r) => r !== undefined)
    t.equal(applied.length, 1)
    t.equal((await store.getPayout(payout.id))!.status, applied[0]!.status)
  })

  t.test('idempotency: started, in flight, mismatch, done; scoped per user', async (t) => {
    const store = await fresh(t)
    const ttl = 60_000
    t.same(await store.beginIdempotent('u-org', 'k1', 'f1', ttl, LEASE), { state: 'started' })
    t.same(await store.beginIdempotent('u-org', 'k1', 'f1', ttl, LEASE), { state: 'in_flight' })
    t.same(await store.beginIdempotent('u-org', 'k1', 'f2', ttl, LEASE), { state: 'mismatch' })
    t.same(await store.beginIdempotent('u-other', 'k1', 'f2', ttl, LEASE), { state: 'started' }, 'another user\'s key of the same name is another key')
    const response = { statusCode: 200, body: { payout: { id: 'p1', status: 'approved' }, list: [1, 2] } }
    await store.finishIdempotent('u-org', 'k1', response)
    const done = await store.beginIdempotent('u-org', 'k1', 'f1', ttl, LEASE)
    t.same(done, { state: 'done', response })
    if (done.state === 'done') (done.response.body as { list: number[] }).list.push(3)
    t.same(await store.beginIdempotent('u-org', 'k1', 'f1', ttl, LEASE), { state: 'done', response }, 'replays are copies')
    t.same(await store.beginIdempotent('u-org', 'k1', 'f2', ttl, LEASE), { state: 'mismatch' }, 'a finished key still refuses another body')
    await store.finishIdempotent('u-org', 'never-begun', response)
    t.same(await store.beginIdempotent('u-org', 'never-begun', 'f1', ttl, LEASE), { state: 'started' }, 'finishing an unknown key creates nothing')
  })

  t.test('idempotency: an abandoned key can be claimed again', async (t) => {
    const store = await fresh(t)
    t.same(await store.beginIdempotent('u-org', 'k', 'f1', 60_000, LEASE), { state: 'started' })
    await store.abandonIdempotent('u-org', 'k', LEASE.owner)
    t.same(await store.beginIdempotent('u-org', 'k', 'f2', 60_000, LEASE), { state: 'started' }, 'even with another body')
    await store.abandonIdempotent('u-org', 'unknown', LEASE.owner)
  })

  t.test('idempotency: a record older than the TTL is forgotten', async (t) => {
    const store = await fresh(t)
    t.same(await store.beginIdempotent('u-org', 'k', 'f1', 60_000, LEASE), { state: 'started' })
    await store.finishIdempotent('u-org', 'k', { statusCode: 409, body: { code: 'x' } })
    // A real wait: the TTL is measured by the store's own clock (the database's, for PostgreSQL).
    await new Promise((resolve) => setTimeout(resolve, 30))
    t.same(await store.beginIdempotent('u-org', 'k', 'f2', 10, LEASE), { state: 'started' })
    t.same(await store.beginIdempotent('u-org', 'k', 'f2', 60_000, LEASE), { state: 'in_flight' }, 'the new claim replaced the old record')
  })

  t.test('idempotency: pruning deletes the records past the TTL, keeps the others, and tells when the next expires', async (t) => {
    const store = await fresh(t)
    t.ok(canPrune(store), 'the store can prune')
    const pruning = store as Store & IdempotencyPruning
    t.same(await pruning.pruneIdempotent(1000), { deleted: 0, nextExpiryMs: undefined }, 'nothing to prune')
    await store.beginIdempotent('u-org', 'old', 'f', 60_000, LEASE)
    await store.finishIdempotent('u-org', 'old', { statusCode: 200, body: {} })
    await store.beginIdempotent('u-a', 'old-in-flight', 'f', 60_000, LEASE)
    // A real wait: the TTL is measured by the store's own clock (the database's, for PostgreSQL).
    await new Promise((resolve) => setTimeout(resolve, 300))
    await store.beginIdempotent('u-org', 'new', 'f', 60_000, LEASE)
    const pruned = await pruning.pruneIdempotent(250)
    t.equal(pruned.deleted, 2, 'the two records older than 250 ms, finished or not')
    t.ok(pruned.nextExpiryMs !== undefined && pruned.nextExpiryMs > 100 && pruned.nextExpiryMs <= 250, `the new one expires in ${pruned.nextExpiryMs} ms`)
    t.same(await store.beginIdempotent('u-org', 'new', 'f', 60_000, LEASE), { state: 'in_flight' }, 'the fresh record is kept')
    t.same(await store.beginIdempotent('u-org', 'old', 'f2', 60_000, LEASE), { state: 'started' }, 'a pruned key starts afresh')
  })

  t.test('idempotency race: of 50 concurrent begins with one key, exactly one starts', async (t) => {
    const store = await fresh(t)
    const results = await Promise.all(Array.from({ length: 50 }, () => store.beginIdempotent('u-org', 'race', 'f', 60_000, LEASE)))
    t.equal(results.filter((r) => r.state === 'started').length, 1)
    t.equal(results.filter((r) => r.state === 'in_flight').length, 49)
  })

  t.test('outbox: a change with an event writes it with the new version, in the same write; pending in version order', async (t) => {
    const store = await fresh(t)
    const started = { type: 'match_started' as const, data: { state: 'live' as const, startedAt: T0 } }
    const scored = (n: number) => ({ type: 'score_updated' as const, data: { scores: { 'u-a': n, 'u-b': 0 } } })
    t.same(await store.pendingEvents('m1', 0), [], 'nothing waits at first')
    await store.updateMatch('m1', 0, { state: 'live', startedAt: T0 }, started)
    t.equal(await store.updateMatch('m1', 0, { state: 'cancelled' }, scored(9)), undefined, 'a lost compare-and-set')
    await store.updateMatch('m1', 1, { scores: { 'u-a': 1, 'u-b': 0 } })
    await store.updateMatch('m1', 2, { scores: { 'u-a': 2, 'u-b': 0 } }, scored(2))
    await store.updateMatch('m3', 0, { scores: { 'u-a': 3, 'u-b': 1 } }, scored(3))
    t.same(await store.pendingEvents('m1', 0), [
      { matchId: 'm1', version: 1, event: started },
      { matchId: 'm1', version: 3, event: scored(2) }
    ], 'a lost write and a change without an event leave nothing; the event is stored as given')
    t.same(await store.pendingEvents('m1', 1), [{ matchId: 'm1', version: 3, event: scored(2) }], 'after a version')
    t.same(await store.pendingEvents('m3', 0), [{ matchId: 'm3', version: 1, event: scored(3) }], 'per match')
    const [read] = await store.pendingEvents('m3', 0)
    ;(read!.event.data as { scores: Record<string, number> }).scores['u-a'] = 99
    t.same((await store.pendingEvents('m3', 0))[0]!.event, scored(3), 'reads are copies')
    const completed = { type: 'match_completed' as const, data: { state: 'completed' as const, scores: { 'u-a': 3, 'u-b': 1 }, winnerId: 'u-a', completedAt: T1, certificateId: 'c-m1' } }
    t.ok(await store.completeMatch('m1', 3, finalPatch, certificateFor('m1'), payoutFor('m1'), completed))
    t.equal(await store.completeMatch('m1', 3, finalPatch, certificateFor('m1'), undefined, completed), undefined)
    t.same((await store.pendingEvents('m1', 3)), [{ matchId: 'm1', version: 4, event: completed }], 'completeMatch writes its event too, once')
    await store.markPublished('m1', 3)
    t.same((await store.pendingEvents('m1', 0)).map((e) => e.version), [4], 'marked entries are gone')
    await store.markPublished('m1', 3)
    await store.markPublished('m1', 4)
    await store.markPublished('nope', 4)
    t.same(await store.pendingEvents('m1', 0), [], 'idempotent')
    t.same((await store.pendingEvents('m3', 0)).length, 1, 'other matches untouched')
  })

  t.test('outbox: entries are claimable once their lease expires; a claim renews it for its taker', async (t) => {
    const store = await fresh(t)
    const scored = (n: number) => ({ type: 'score_updated' as const, data: { scores: { 'u-a': n } } })
    await store.updateMatch('m3', 0, { scores: { 'u-a': 1 } }, scored(1))
    await store.updateMatch('m3', 1, { scores: { 'u-a': 2 } }, scored(2))
    await store.updateMatch('m1', 0, { scores: { 'u-a': 1 } }, scored(1))
    // Real waits: leases are measured by the store's own clock (the database's, for PostgreSQL);
    // long enough that a claim does not lapse between two statements on a loaded machine.
    const short = { owner: 'instance-2', ms: 250 }
    t.same(await store.claimEvents(short, 10), [], 'the committer holds them for the lease after the commit')
    await sleep(300)
    t.same((await store.claimEvents(short, 2)).map((e) => [e.matchId, e.version]), [['m1', 1], ['m3', 1]], 'by match, then version; at most limit')
    t.same((await store.claimEvents(short, 10)).map((e) => [e.matchId, e.version]), [['m3', 2]], 'claimed ones are held again')
    await sleep(300)
    const again = await store.claimEvents({ owner: 'instance-3', ms: 60_000 }, 10)
    t.same(again, [
      { matchId: 'm1', version: 1, event: scored(1) },
      { matchId: 'm3', version: 1, event: scored(1) },
      { matchId: 'm3', version: 2, event: scored(2) }
    ], 'a lapsed claim can be taken over')
    const racing = await Promise.all([0, 1, 2, 3].map((i) => store.claimEvents({ owner: `racer-${i}`, ms: 60_000 }, 10)))
    t.same(racing.flat(), [], 'held under the new lease')
    await store.markPublished('m3', 2)
    t.same(await store.pendingEvents('m3', 0), [], 'a claimed entry is removed like any other')
  })

  t.test('outbox: of concurrent claims, each entry goes to one', async (t) => {
    const store = await fresh(t)
    for (let v = 0; v < 12; v++) await store.updateMatch('m3', v, {}, { type: 'result_reported', data: { by: 'u-a', scores: { 'u-a': v } } })
    // The lease is also how long the committer holds its entries: short enough to wait out, long
    // enough that no racer's claim lapses before the others have run.
    await sleep(350)
    const claims = await Promise.all([0, 1, 2, 3].map((i) => store.claimEvents({ owner: `racer-${i}`, ms: 300 }, 5)))
    const versions = claims.flat().map((e) => e.version).sort((a, b) => a - b)
    t.same(versions, Array.from({ length: 12 }, (_, i) => i + 1), 'every entry claimed exactly once')
    t.ok(claims.every((c) => c.length <= 5))
  })

  t.test('idempotency leases: an in-flight key whose lease ran out is taken over (same body only)', async (t) => {
    const store = await fresh(t)
    const crashed = { owner: 'crashed', ms: 200 }
    const next = { owner: 'next', ms: 60_000 }
    t.same(await store.beginIdempotent('u-org', 'k', 'f1', 60_000, crashed), { state: 'started' })
    t.same(await store.beginIdempotent('u-org', 'k', 'f1', 60_000, next), { state: 'in_flight' }, 'held while its lease lasts')
    await sleep(250)
    t.same(await store.beginIdempotent('u-org', 'k', 'f2', 60_000, next), { state: 'mismatch' }, 'another body is still refused')
    t.same(await store.beginIdempotent('u-org', 'k', 'f1', 60_000, next), { state: 'started' }, 'taken over')
    t.same(await store.beginIdempotent('u-org', 'k', 'f1', 60_000, next), { state: 'in_flight' }, 'once')
    t.equal(await store.renewIdempotent('u-org', 'k', crashed), false, 'the old holder lost it')
    await store.abandonIdempotent('u-org', 'k', 'crashed')
    t.same(await store.beginIdempotent('u-org', 'k', 'f1', 60_000, crashed), { state: 'in_flight' }, 'nor can it release it')
    const response = { statusCode: 200, body: { ok: true } }
    await store.finishIdempotent('u-org', 'k', response)
    t.equal(await store.renewIdempotent('u-org', 'k', next), false, 'a finished key has no lease')
    await store.abandonIdempotent('u-org', 'k', 'next')
    t.same(await store.beginIdempotent('u-org', 'k', 'f1', 60_000, next), { state: 'done', response }, 'a finished key is never released')
    t.equal(await store.renewIdempotent('u-org', 'unknown', next), false)
  })

  t.test('idempotency leases: renewing keeps a key its holder\'s past the first lease', async (t) => {
    const store = await fresh(t)
    const holder = { owner: 'holder', ms: 200 }
    t.same(await store.beginIdempotent('u-org', 'k', 'f1', 60_000, holder), { state: 'started' })
    for (let i = 0; i < 4; i++) {
      await sleep(80)
      t.equal(await store.renewIdempotent('u-org', 'k', holder), true)
    }
    t.same(await store.beginIdempotent('u-org', 'k', 'f1', 60_000, LEASE), { state: 'in_flight' }, '320 ms after a lease of 200: still held')
  })

  t.test('ping answers; close is idempotent', async (t) => {
    const store = await fresh(t)
    await t.resolves(store.ping())
    await store.close()
    await t.resolves(store.close())
  })
}
