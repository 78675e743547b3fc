/**
 * Every Redis outage is logged once going down and once coming back, on every instance, whether or
 * not that instance publishes anything.
 */
import { Redis } from 'ioredis'
import t from 'tap'
import { memoryStore } from '../../index.js'
import { as, client, collectLogs, startApp, testSeed, until, type LogLine } from '../helper.js'
import { startRedis, uniquePrefix } from '../redis.js'
import { reported } from '../plugins/broadcast/fixtures.js'

const DOWN = /match events cannot be sequenced/
const UP = /Redis answers again/
const count = (lines: LogLine[], pattern: RegExp) => lines.filter((l) => pattern.test(l.msg)).length

t.test('two outages: each instance logs one down and one up line per outage, publishing or not', async (t) => {
  const redis = await startRedis(t)
  const keyPrefix = uniquePrefix()
  const store = memoryStore(testSeed())
  const logsA = collectLogs()
  const logsB = collectLogs()
  const a = await startApp(t, { redis: redis.url, keyPrefix, store }, undefined, { logger: logsA.logger })
  // B only serves a room: it never publishes.
  const b = await startApp(t, { redis: redis.url, keyPrefix, store }, undefined, { logger: logsB.logger })
  const watcher = client(t, b.wsUrl, '/ws/matches/m2', as('u-fan'))
  await watcher.next()

  for (const outage of [1, 2]) {
    await redis.kill()
    await until(() => count(logsA.lines, DOWN) === outage && count(logsB.lines, DOWN) === outage, 5000)
    await redis.restart()
    // A publishes once Redis answers; B only receives.
    await until(() => a.app.matchcast.redis!.client.status === 'ready', 5000)
    a.app.matchcast.events.emit('m2', reported(outage))
    await a.app.matchcast.events.flush()
    await until(() => count(logsA.lines, UP) === outage && count(logsB.lines, UP) === outage, 5000)
  }
  // A last round trip through both instances, then the counts are final.
  a.app.matchcast.events.emit('m2', reported(9))
  await a.app.matchcast.events.flush()
  // The watcher gets to it as an event, or in a resync snapshot read after it was sequenced.
  const { seq: last } = await a.app.matchcast.events.position('m2')
  for (let seen = 0; seen < last;) {
    const frame = await watcher.next(5000)
    const seqs = frame.type === 'batch' ? (frame.events as Array<{ seq: number }>).map((e) => e.seq) : [frame.seq]
    for (const seq of seqs) if (typeof seq === 'number' && seq > seen) seen = seq
  }
  for (const [name, { lines }] of [['A', logsA], ['B', logsB]] as const) {
    t.equal(count(lines, DOWN), 2, `${name}: one down line per outage`)
    t.equal(count(lines, UP), 2, `${name}: one up line per outage`)
    t.same(lines.filter((l) => l.level >= 50), [], `${name}: nothing at error level`)
  }
})

t.test('Redis answering but refusing a lost match its new epoch: other rooms recover, the outage is over once that match has one', async (t) => {
  const redis = await startRedis(t)
  const keyPrefix = uniquePrefix()
  const { lines, logger } = collectLogs()
  const { app, wsUrl } = await startApp(t, { redis: redis.url, keyPrefix }, undefined, { logger })
  const admin = new Redis(redis.url)
  t.teardown(() => admin.quit())
  const m1 = client(t, wsUrl, '/ws/matches/m1', as('u-fan'))
  const m3 = client(t, wsUrl, '/ws/matches/m3', as('u-fan'))
  const { epoch } = await m1.next()
  await m3.next()
  // m1's stream key holds a string: the publish script's writes to it fail (WRONGTYPE).
  await admin.set(`${keyPrefix}:match:{m1}`, 'not a stream')
  app.matchcast.events.emit('m1', reported(1))
  await app.matchcast.events.flush()
  t.equal(count(lines, DOWN), 1, 'the failed publish is the outage')
  // m3's sequence moved on (another epoch) while this instance was not listening.
  await admin.hset(`${keyPrefix}:match:{m3}`, 'epoch', 'elsewhere')
  await admin.call('CLIENT', 'KILL', 'TYPE', 'pubsub')
  t.match(await m3.next(5000), { type: 'snapshot', matchId: 'm3', epoch: 'elsewhere', resync: true }, 'the recovery resynced m3')
  t.equal(count(lines, UP), 0, 'm1 has no new epoch yet: the outage is not over')
  await admin.del(`${keyPrefix}:match:{m1}`)
  app.matchcast.events.emit('m1', reported(2))
  await app.matchcast.events.flush()
  const resync = await m1.next(5000)
  t.match(resync, { type: 'snapshot', matchId: 'm1', resync: true }, 'm1 starts a new epoch')
  t.not(resync.epoch, epoch)
  t.equal(count(lines, DOWN), 1)
  t.equal(count(lines, UP), 1, 'now it is over')
})
