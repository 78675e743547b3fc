/**
 * The limits shared through a real redis-server: several instances, leases of the message bucket
 * (bounded across instances, few script calls), Redis dying and coming back.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import t, { type Test } from 'tap'
import { Redis } from 'ioredis'
import { limiterStatus, type MatchcastOptions } from '../../../index.js'
import { lowWaterMark } from '../../../plugins/rate-limit/lease.js'
import { as, client, collectLogs, startApp, testSeed, until, type Client } from '../../helper.js'
import { bucketScript, countCommands, sharedRedisUrl, startRedis, uniquePrefix } from '../../redis.js'

/** A listening app with its log lines captured. */
async function start (t: Test, options: Partial<MatchcastOptions>) {
  const { lines, logger } = collectLogs()
  const { app, wsUrl } = await startApp(t, options, testSeed(), { logger })
  return { app, wsUrl, lines, logged: (re: RegExp) => lines.filter((l) => re.test(l.msg)) }
}

async function admitted (c: Client): Promise<void> {
  const snapshot = await c.next()
  if (snapshot.type !== 'snapshot') throw new Error(`expected a snapshot, got ${JSON.stringify(snapshot)}`)
}

async function inspect (t: Test, url: string): Promise<Redis> {
  const redis = new Redis(url, { lazyConnect: true })
  redis.on('error', () => {})
  await redis.connect()
  t.teardown(() => redis.quit().catch(() => redis.disconnect()))
  return redis
}

const FALLBACK = /fall back to per-instance memory/
const RESTORED = /shared through Redis again/

t.test('two instances on one Redis share connection slots and the message bucket', async (t) => {
  const url = await sharedRedisUrl(t)
  const keyPrefix = uniquePrefix()
  const rateLimit = { maxConnectionsPerUser: 2, messagesPerSecond: 0.5, burst: 3 }
  const a = await start(t, { redis: url, keyPrefix, rateLimit })
  const b = await start(t, { redis: url, keyPrefix, rateLimit })
  t.same(limiterStatus(a.app), { mode: 'redis', degraded: false })
  const a1 = client(t, a.wsUrl, '/ws/matches/m1', as('u-a'))
  await admitted(a1)
  const b1 = client(t, b.wsUrl, '/ws/matches/m1', as('u-a'))
  await admitted(b1)
  const b2 = client(t, b.wsUrl, '/ws/matches/m3', as('u-a'))
  t.same(await b2.closeInfo(), { code: 4008, reason: 'too_many_connections' }, 'the slot held on A counts on B')
  await a1.close()
  await until(() => a.app.matchcast.connections.size === 0)
  const b3 = client(t, b.wsUrl, '/ws/matches/m3', as('u-a'))
  await admitted(b3)
  await b1.ping()
  await b3.ping()
  await b1.ping()
  b3.send({ type: 'ping' })
  t.equal((await b3.closeInfo()).code, 4009, 'the fourth message of the user, over both sockets, is over the burst of 3')
  const other = client(t, a.wsUrl, '/ws/matches/m1', as('u-b'))
  await admitted(other)
  await other.ping()
})

t.test('two instances, a user far over the limit on both: at most burst + N·leaseSize + rate·T frames in T', async (t) => {
  const url = await sharedRedisUrl(t)
  const keyPrefix = uniquePrefix()
  // A long Redis timeout: a slow answer on a busy machine must not switch to per-instance memory here.
  const rateLimit = { maxConnectionsPerUser: 4, messagesPerSecond: 1, burst: 8, leaseSize: 4, redisTimeoutMs: 2000 }
  const instances = [await start(t, { redis: url, keyPrefix, rateLimit }), await start(t, { redis: url, keyPrefix, rateLimit })]
  const sockets = instances.flatMap(({ wsUrl }) => [client(t, wsUrl, '/ws/matches/m1', as('u-a')), client(t, wsUrl, '/ws/matches/m1', as('u-a'))])
  for (const c of sockets) await admitted(c)
  // One frame on each instance leases 4 of the 8 tokens: each holds 3 the bucket no longer counts.
  await sockets[0]!.ping()
  await sockets[2]!.ping()
  const inspector = await inspect(t, url)
  const bucket = `${keyPrefix}:limit-bucket:{u-a}`
  t.ok(Number(await inspector.hget(bucket, 'tokens')) < 1, 'both leases came out of the bucket')
  // The worst case: the bucket full again while both leases are held. Its refill takes 8 s at this
  // rate, longer than a test should wait, so it is refilled at once (a missing bucket is a full one).
  await inspector.del(bucket)

  const started = process.hrtime.bigint()
  for (const c of sockets) for (let i = 0; i < 100; i++) c.send({ type: 'ping', id: 'over' })
  const closes = await Promise.all(sockets.map((c) => c.closeInfo(5000)))
  const seconds = Number(process.hrtime.bigint() - started) / 1e9
  t.same(closes.map((c) => c.code), [4009, 4009, 4009, 4009], 'every socket ends over the limit')
  const accepted = sockets.flatMap((c) => c.frames).filter((f) => (f as { id?: string }).id === 'over').length
  const bound = rateLimit.burst + instances.length * rateLimit.leaseSize + Math.floor(rateLimit.messagesPerSecond * seconds)
  t.ok(accepted <= bound, `${accepted} frames accepted in ${seconds.toFixed(3)} s; bound burst + 2·leaseSize + rate·T = ${bound}`)
  t.ok(accepted >= rateLimit.burst + instances.length * (rateLimit.leaseSize - 1),
    `${accepted}: the full bucket, and the 3 tokens each instance held on top of it`)
  t.same(instances.map(({ app }) => app.matchcast.limiter.mode), ['redis', 'redis'])
})

t.test('a user under the limit on two instances is never refused, and most frames make no Redis call', async (t) => {
  const redis = await startRedis(t)
  const calls = await countCommands(t, redis.url, bucketScript)
  // The default lease: 25, topped up at 6 left. A long Redis timeout: on a busy machine a slow
  // answer must not switch to per-instance memory (or abandon a request) here.
  const rateLimit = { messagesPerSecond: 1000, burst: 100, redisTimeoutMs: 2000 }
  const a = await start(t, { redis: redis.url, rateLimit })
  const b = await start(t, { redis: redis.url, rateLimit })
  const sockets = [client(t, a.wsUrl, '/ws/matches/m1', as('u-a')), client(t, b.wsUrl, '/ws/matches/m1', as('u-a'))]
  for (const c of sockets) await admitted(c)
  const leaseSize = a.app.matchcast.limiter.options.leaseSize
  t.equal(leaseSize, 25)
  const before = await calls.count()
  const frames = 200
  for (let i = 0; i < frames; i++) {
    await sockets[i % 2]!.ping()
    await sleep(2) // at most 500 frames a second: half the limit
  }
  await sleep(50)
  const made = await calls.count() - before
  const most = Math.ceil(frames / (leaseSize - lowWaterMark(leaseSize))) + 2 * 2
  t.ok(made <= most, `${made} bucket script calls for ${frames} frames (at most ${most}; a call per frame without a lease)`)
  t.same(sockets.map((c) => c.ws.readyState), [1, 1], 'no socket was closed')
})

t.test('Redis killed under a lease: frames spend what is held, the first that needs Redis falls back at once', async (t) => {
  const redis = await startRedis(t)
  const { app, wsUrl, logged } = await start(t, {
    redis: redis.url,
    rateLimit: { redisTimeoutMs: 100, redisProbeIntervalMs: 50, burst: 100, messagesPerSecond: 100 }
  })
  const c = client(t, wsUrl, '/ws/matches/m1', as('u-a'))
  await admitted(c)
  await c.ping() // leases 25 (the default for a burst of 100): 24 held
  await redis.kill()
  for (let i = 0; i < 24; i++) await c.ping()
  t.equal(app.matchcast.limiter.mode, 'redis', '24 frames spent the lease: none needed Redis, none noticed it was gone')
  const started = Date.now()
  await c.ping()
  t.ok(Date.now() - started < 1000, `the 25th needed Redis and was answered from memory after ${Date.now() - started} ms`)
  t.equal(app.matchcast.limiter.mode, 'memory')
  t.equal(logged(FALLBACK).length, 1)
  await redis.restart()
  await until(() => app.matchcast.limiter.mode === 'redis', 5000)
  await c.ping()
})

t.test('Redis killed: limits fall back to memory within the timeout, logged once; restored after restart', async (t) => {
  const redis = await startRedis(t)
  const { app, wsUrl, logged } = await start(t, {
    redis: redis.url,
    // No lease: every frame asks Redis, so the first frame after the kill notices it.
    rateLimit: { maxConnectionsPerUser: 2, redisTimeoutMs: 100, redisProbeIntervalMs: 50, burst: 100, messagesPerSecond: 100, leaseSize: 1 }
  })
  const c1 = client(t, wsUrl, '/ws/matches/m1', as('u-a'))
  await admitted(c1)
  await c1.ping()

  await redis.kill()
  const started = Date.now()
  await c1.ping()
  t.ok(Date.now() - started < 1000, `a message during the outage is answered at once (${Date.now() - started} ms)`)
  for (let i = 0; i < 5; i++) await c1.ping()
  t.same(limiterStatus(app), { mode: 'memory', degraded: true })
  // Admission as the rooms do it (a new room socket also needs the event sequence, from Redis).
  const { limiter } = app.matchcast
  t.equal(await limiter.acquireConnection('u-a', 'during-outage'), true)
  t.equal(await limiter.acquireConnection('u-a', 'one-too-many'), false, 'limits still hold, per instance: the slot taken under Redis counts too')
  t.equal(logged(FALLBACK).length, 1, 'the switch is logged once')
  t.equal(logged(FALLBACK)[0]!.level, 40, 'as a warning')

  await redis.restart()
  await until(() => app.matchcast.limiter.mode === 'redis', 5000)
  t.equal(logged(RESTORED).length, 1, 'the return is logged once')
  await c1.ping()
  const inspector = await inspect(t, redis.url)
  t.same((await inspector.zrange('matchcast:limit-conns:{u-a}', '0', '-1')).includes('during-outage'), true,
    'the slot admitted in memory now counts in Redis')
  await limiter.releaseConnection('u-a', 'during-outage')
  t.same((await inspector.zrange('matchcast:limit-conns:{u-a}', '0', '-1')).includes('during-outage'), false, 'and is released there')
  t.equal(logged(FALLBACK).length, 1)
})

t.test('Redis hanging (SIGSTOP): no message waits longer than redisTimeoutMs', async (t) => {
  const redis = await startRedis(t)
  const inspector = await inspect(t, redis.url)
  const pid = Number(/process_id:(\d+)/.exec(await inspector.info('server'))![1])
  const { app, wsUrl, logged } = await start(t, { redis: redis.url, rateLimit: { redisTimeoutMs: 100, redisProbeIntervalMs: 50 } })
  const c = client(t, wsUrl, '/ws/matches/m1', as('u-a'))
  await admitted(c)
  process.kill(pid, 'SIGSTOP')
  t.teardown(() => { try { process.kill(pid, 'SIGCONT') } catch {} })
  const started = Date.now()
  await c.ping()
  const waited = Date.now() - started
  t.ok(waited < 1000, `answered after ${waited} ms (100 ms timeout; room for a loaded machine, where a frozen Redis would hold it for good)`)
  t.equal(app.matchcast.limiter.mode, 'memory')
  t.equal(logged(FALLBACK).length, 1)
  process.kill(pid, 'SIGCONT')
  await until(() => app.matchcast.limiter.mode === 'redis', 5000)
  await c.ping()
})
