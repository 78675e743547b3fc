/**
 * With Redis, the per-user message limit costs no Redis round trip on most frames: each instance
 * leases a share of the user's bucket (`rateLimit.leaseSize`, by default a quarter of `burst`) and
 * spends it locally. Script calls on the bucket are counted with MONITOR on a private redis-server.
 *
 * Guards the cost where every inbound frame waited on one EVALSHA of the bucket script.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { lowWaterMark } from '../../plugins/rate-limit/lease.js'
import { as, client, startApp } from '../helper.js'
import { bucketScript, countCommands, startRedis } from '../redis.js'

t.test('frames under the limit: about one bucket script call per lease, not one per frame', async (t) => {
  const redis = await startRedis(t)
  const calls = await countCommands(t, redis.url, bucketScript)
  // The default burst of 20 and its default lease of 5; a rate no paced frame loop can reach; a
  // Redis timeout long enough that a slow answer on a busy machine is not taken for an outage.
  const { app, wsUrl } = await startApp(t, { redis: redis.url, rateLimit: { messagesPerSecond: 1000, redisTimeoutMs: 2000 } })
  const leaseSize = app.matchcast.limiter.options.leaseSize
  t.equal(leaseSize, 5)
  const c = client(t, wsUrl, '/ws/matches/m1', as('u-a'))
  await c.next() // the snapshot
  const before = await calls.count()
  const frames = 100
  for (let i = 0; i < frames; i++) {
    await c.ping()
    await sleep(2) // at most 500 frames a second: under the limit
  }
  await sleep(50)
  const made = await calls.count() - before
  const most = Math.ceil(frames / (leaseSize - lowWaterMark(leaseSize))) + 2
  t.ok(made <= most, `${made} calls for ${frames} frames (at most ${most})`)
  t.ok(made / frames <= 0.3, `${(made / frames).toFixed(2)} calls per frame`)
  t.equal(app.matchcast.limiter.mode, 'redis')
})
