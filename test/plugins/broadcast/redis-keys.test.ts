/**
 * A match's Redis keys: one hash tag per match, lifetimes (a finished match's keys go sooner than an
 * idle one's, and resuming after that is a resync, never an error), and the epoch fence against a
 * sequence another primary wrote.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { Redis } from 'ioredis'
import t from 'tap'
import { as, client, startApp } from '../../helper.js'
import { sharedRedisUrl, uniquePrefix } from '../../redis.js'
import { completed, readSeqs, reported } from './fixtures.js'

const url = await sharedRedisUrl(t)
const admin = new Redis(url)
t.teardown(() => admin.quit())

t.test("a finished match's sequence, epoch and history expire after finishedTtlMs; resuming then resyncs", async (t) => {
  const keyPrefix = uniquePrefix()
  const { app, wsUrl } = await startApp(t, { redis: url, keyPrefix, history: { finishedTtlMs: 300, idleTtlMs: 60_000 } })
  const fan = client(t, wsUrl, '/ws/matches/m2', as('u-fan'))
  const { epoch } = await fan.next()
  const stream = `${keyPrefix}:match:{m2}`
  app.matchcast.events.emit('m2', reported(1))
  await app.matchcast.events.flush()
  t.same(await readSeqs(fan, 1), [1])
  const idle = await admin.pttl(stream)
  t.ok(idle > 300 && idle <= 60_000, `a live match's keys live idleTtlMs (${idle} ms left)`)
  t.ok(await admin.pttl(`${stream}:history`) > 0, 'its history expires too')
  app.matchcast.events.emit('m2', completed)
  await app.matchcast.events.flush()
  t.same(await readSeqs(fan, 1), [2])
  const finished = await admin.pttl(stream)
  t.ok(finished > 0 && finished <= 300, `once finished, finishedTtlMs (${finished} ms left)`)
  t.ok(await admin.pttl(`${stream}:history`) <= 300, 'history goes with it')
  await fan.close()
  // A real wait: Redis expires keys on its own clock.
  await sleep(450)
  t.equal(await admin.exists(stream, `${stream}:history`), 0, 'gone')
  const late = client(t, wsUrl, `/ws/matches/m2?lastSeq=2&epoch=${String(epoch)}`, as('u-fan'))
  const snapshot = await late.next()
  t.match(snapshot, { type: 'snapshot', matchId: 'm2', seq: 0, resync: true }, 'a resync snapshot, not an error')
  t.not(snapshot.epoch, epoch, 'a new epoch')
  t.ok(await admin.pttl(stream) > 300, 'the new sequence lives idleTtlMs')
})

t.test('lifetimes of 0 keep the keys; a match read before its first event gets the idle lifetime', async (t) => {
  const keyPrefix = uniquePrefix()
  const { app } = await startApp(t, { redis: url, keyPrefix, history: { finishedTtlMs: 0, idleTtlMs: 0 } })
  app.matchcast.events.emit('m1', completed)
  await app.matchcast.events.flush()
  t.equal(await admin.pttl(`${keyPrefix}:match:{m1}`), -1, 'no expiry')
  const other = uniquePrefix()
  const { app: reader } = await startApp(t, { redis: url, keyPrefix: other, history: { idleTtlMs: 5000 } })
  await reader.matchcast.events.position('m3')
  const ttl = await admin.pttl(`${other}:match:{m3}`)
  t.ok(ttl > 0 && ttl <= 5000, `created by a read: idleTtlMs (${ttl} ms left)`)
})

t.test('a sequence written by another primary (failover, moved slot) moves to a new epoch: rooms resync, no seq is reused', async (t) => {
  const keyPrefix = uniquePrefix()
  const { app, wsUrl } = await startApp(t, { redis: url, keyPrefix })
  const fan = client(t, wsUrl, '/ws/matches/m2', as('u-fan'))
  const { epoch } = await fan.next()
  app.matchcast.events.emit('m2', reported(1))
  await app.matchcast.events.flush()
  t.same(await readSeqs(fan, 1), [1])
  // As after a failover: the stream was last written by a primary with another replication id.
  await admin.hset(`${keyPrefix}:match:{m2}`, 'writer', 'another-primary')
  app.matchcast.events.emit('m2', reported(2))
  await app.matchcast.events.flush()
  const resync = await fan.next()
  t.match(resync, { type: 'snapshot', matchId: 'm2', resync: true, seq: 2 })
  t.not(resync.epoch, epoch, 'a new epoch')
  const history = (await admin.lrange(`${keyPrefix}:match:{m2}:history`, 0, -1)).map((e) => (JSON.parse(e) as { seq: number }).seq)
  t.same(history, [2], 'history holds the new epoch only')
  app.matchcast.events.emit('m2', reported(3))
  await app.matchcast.events.flush()
  t.same(await readSeqs(fan, 1), [3], 'then contiguous')
  const stale = client(t, wsUrl, `/ws/matches/m2?lastSeq=1&epoch=${String(epoch)}`, as('u-fan'))
  t.match(await stale.next(), { type: 'snapshot', resync: true, epoch: resync.epoch }, 'a client of the old epoch resyncs')
})

t.test('a position read is fenced too: it announces the new epoch to the rooms', async (t) => {
  const keyPrefix = uniquePrefix()
  const { app, wsUrl } = await startApp(t, { redis: url, keyPrefix })
  const fan = client(t, wsUrl, '/ws/matches/m2', as('u-fan'))
  const { epoch } = await fan.next()
  await admin.hset(`${keyPrefix}:match:{m2}`, 'writer', 'another-primary')
  const position = await app.matchcast.events.position('m2')
  t.not(position.epoch, epoch)
  t.match(await fan.next(), { type: 'snapshot', matchId: 'm2', resync: true, epoch: position.epoch })
})
