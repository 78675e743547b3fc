/**
 * A stalled database or Redis cannot pile up sockets or requests: every store call on a request or
 * admission path gives up after `storeTimeoutMs` (HTTP 503 `MATCHCAST_ERR_STORE_TIMEOUT`, room
 * admission close 1011), and the broker's reads give up after the Redis command timeout (rooms
 * then admit from the store, as when Redis is down). PostgreSQL is stalled for real by another
 * session's table locks; Redis by SIGSTOP.
 *
 * Guards the bug where, with PostgreSQL stalled, admissions and requests waited forever.
 */
import { once } from 'node:events'
import { Redis } from 'ioredis'
import t, { type Test } from 'tap'
import { as, client, startApp, testSeed, token, until, WAIT_MS } from '../helper.js'
import { pgStore, sql, stall } from '../postgres.js'
import { startRedis } from '../redis.js'

const STORE_TIMEOUT_MS = 300

/** `work`, or a rejection after `ms`: a request that hangs fails the test instead of stalling it. */
async function bounded<T> (work: Promise<T>, ms = WAIT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => { timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms) })
  try {
    return await Promise.race([work, timeout])
  } finally {
    clearTimeout(timer)
  }
}

async function pgApp (t: Test) {
  const store = await pgStore(t, testSeed())
  const { app, wsUrl } = await startApp(t, { store, storeTimeoutMs: STORE_TIMEOUT_MS })
  return { app, wsUrl, store }
}

t.test('room admission on a stalled PostgreSQL closes 1011 after storeTimeoutMs; rooms admit again once it answers', async (t) => {
  const { app, wsUrl, store } = await pgApp(t)
  const stalled = await stall(t, store.schema, 'ACCESS EXCLUSIVE')
  const match = client(t, wsUrl, '/ws/matches/m1', as('u-a'))
  const tournament = client(t, wsUrl, '/ws/tournaments/t1', as('u-a'))
  t.same(await match.closeInfo(), { code: 1011, reason: 'internal_error' })
  t.same(await tournament.closeInfo(), { code: 1011, reason: 'internal_error' })
  t.same([...match.frames, ...tournament.frames], [], 'nothing was sent before the close')
  await until(() => app.matchcast.connections.size === 0)
  await stalled.release()
  const again = client(t, wsUrl, '/ws/matches/m1', as('u-a'))
  t.match(await again.next(), { type: 'snapshot', matchId: 'm1' })
})

t.test('HTTP on a stalled PostgreSQL answers 503 MATCHCAST_ERR_STORE_TIMEOUT in the error shape', async (t) => {
  const { app, store } = await pgApp(t)
  const stalled = await stall(t, store.schema, 'ACCESS EXCLUSIVE')
  const res = await bounded(app.inject({ url: '/matches/m1', headers: { authorization: `Bearer ${token('u-a')}` } }))
  t.equal(res.statusCode, 503)
  t.same(res.json(), { statusCode: 503, code: 'MATCHCAST_ERR_STORE_TIMEOUT', error: 'Service Unavailable', message: 'the store did not answer in time; retry later' })
  await stalled.release()
  t.equal((await app.inject({ url: '/matches/m1', headers: { authorization: `Bearer ${token('u-a')}` } })).statusCode, 200)
})

t.test('a command whose write stalls is answered `internal`; when the write commits late, its event still goes out', async (t) => {
  const { app, wsUrl, store } = await pgApp(t)
  const org = client(t, wsUrl, '/ws/matches/m1', as('u-org'))
  t.match(await org.next(), { type: 'snapshot', seq: 0 })
  // Reads go through, writes wait.
  const stalled = await stall(t, store.schema, 'EXCLUSIVE')
  org.send({ type: 'match.start', id: 's' })
  t.same(await org.next(), { type: 'error', id: 's', code: 'internal', message: 'internal error' })
  await org.ping()
  await stalled.release()
  t.match(await org.next(), { type: 'match_started', matchId: 'm1', seq: 1, data: { state: 'live' } })
  t.equal((await app.matchcast.store.getMatch('m1'))!.state, 'live')
})

t.test('a command whose write stalls and then fails changes nothing and sends no event', async (t) => {
  const { app, wsUrl, store } = await pgApp(t)
  const org = client(t, wsUrl, '/ws/matches/m1', as('u-org'))
  t.match(await org.next(), { type: 'snapshot', seq: 0 })
  const stalled = await stall(t, store.schema, 'EXCLUSIVE')
  org.send({ type: 'match.start', id: 's' })
  t.match(await org.next(), { type: 'error', id: 's', code: 'internal' })
  const waiting = `SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%UPDATE "${store.schema}".matches%'`
  const { rows } = await sql(waiting)
  t.equal(rows.length, 1, 'the write is waiting on the lock')
  await sql('SELECT pg_cancel_backend($1)', [rows[0].pid])
  // Released only once the write has given up, so it cannot commit after all.
  for (let i = 0; (await sql(waiting)).rows.length > 0; i++) if (i > 100) throw new Error('the write is still waiting')
  await stalled.release()
  t.equal((await app.matchcast.store.getMatch('m1'))!.state, 'scheduled', 'the match did not change')
  await org.ping()
  t.same(org.unread, [], 'and no event was sent')
})

t.test('Redis stalled (SIGSTOP), a host client without command timeout: rooms still admit, with epoch "unavailable"', async (t) => {
  const redis = await startRedis(t)
  const host = new Redis(redis.url)
  t.teardown(() => host.disconnect())
  await once(host, 'ready')
  const pid = Number(/process_id:(\d+)/.exec(await host.info('server'))![1])
  const { wsUrl } = await startApp(t, { redis: host })
  process.kill(pid, 'SIGSTOP')
  t.teardown(() => { try { process.kill(pid, 'SIGCONT') } catch {} })
  const fresh = client(t, wsUrl, '/ws/matches/m1', as('u-a'))
  t.match(await fresh.next(), { type: 'snapshot', matchId: 'm1', seq: 0, epoch: 'unavailable' })
  const resuming = client(t, wsUrl, '/ws/matches/m1?lastSeq=3&epoch=e1', as('u-b'))
  t.match(await resuming.next(), { type: 'snapshot', matchId: 'm1', epoch: 'unavailable', resync: true })
  process.kill(pid, 'SIGCONT')
})
