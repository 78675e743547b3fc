/**
 * Frames a client sends before its admission completes wait in memory, so they are bounded: a
 * frame over `maxPayloadBytes` closes 4010 at once, and more than `burst` frames (or 64 KiB) close
 * 4009. Admission is held up for real: PostgreSQL is stalled by another session's table locks.
 *
 * Guards the bug where a non-member sent 150 frames of ~1 MB while PostgreSQL was stalled: all
 * were queued (RSS 119 → 281 MB) and the connection stayed open without a 4010.
 */
import t, { type Test } from 'tap'
import { as, client, startApp, testSeed } from '../helper.js'
import { pgStore, stall } from '../postgres.js'

/** A valid `ping` of exactly `size` bytes (JSON allows trailing whitespace). */
function ping (id: number, size = 0): string {
  return JSON.stringify({ type: 'ping', id }).padEnd(size, ' ')
}

async function stalledApp (t: Test, rateLimit: Record<string, number>) {
  const store = await pgStore(t, testSeed())
  const { app, wsUrl } = await startApp(t, { store, rateLimit })
  const stalled = await stall(t, store.schema, 'ACCESS EXCLUSIVE')
  return { app, wsUrl, stalled }
}

t.test('a frame over maxPayloadBytes while admission waits closes 4010 at once', async (t) => {
  const { wsUrl } = await stalledApp(t, { maxPayloadBytes: 16 * 1024 })
  // u-x is not a member of t1: admission would end in 4003, if it could finish.
  const c = client(t, wsUrl, '/ws/matches/m1', as('u-x'))
  await c.opened
  c.send(ping(1, 512 * 1024))
  c.send(ping(2))
  t.same(await c.closeInfo(), { code: 4010, reason: 'payload_too_large' })
  t.same(c.frames, [], 'nothing was answered')
})

t.test('more than `burst` frames while admission waits closes 4009', async (t) => {
  const { wsUrl } = await stalledApp(t, { burst: 3 })
  const c = client(t, wsUrl, '/ws/matches/m1', as('u-a'))
  await c.opened
  for (let i = 1; i <= 4; i++) c.send(ping(i))
  t.same(await c.closeInfo(), { code: 4009, reason: 'rate_limited' })
  t.same(c.frames, [])
})

t.test('more than 64 KiB of frames while admission waits closes 4009', async (t) => {
  const { wsUrl } = await stalledApp(t, { burst: 100, maxPayloadBytes: 16 * 1024 })
  const c = client(t, wsUrl, '/ws/matches/m1', as('u-a'))
  await c.opened
  for (let i = 1; i <= 5; i++) c.send(ping(i, 16 * 1024))
  t.same(await c.closeInfo(), { code: 4009, reason: 'rate_limited' })
})

t.test('frames within the bounds wait for admission, then are handled in order', async (t) => {
  const { wsUrl, stalled } = await stalledApp(t, { burst: 4 })
  const c = client(t, wsUrl, '/ws/matches/m1', as('u-a'))
  await c.opened
  for (let i = 1; i <= 3; i++) c.send(ping(i, 1000))
  await stalled.release()
  t.match(await c.next(), { type: 'snapshot', matchId: 'm1' })
  for (let i = 1; i <= 3; i++) t.same(await c.next(), { type: 'pong', id: i })
  await c.ping()
})
