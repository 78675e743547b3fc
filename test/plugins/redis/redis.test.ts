import { Writable } from 'node:stream'
import Fastify from 'fastify'
import { Redis } from 'ioredis'
import t from 'tap'
import { matchcastRedis } from '../../../index.js'
import { clientOptions } from '../../../plugins/redis/index.js'
import { until } from '../../helper.js'
import { sharedRedisUrl, startRedis, uniquePrefix } from '../../redis.js'

t.test('a URL: the client is created, keys are prefixed, and it is closed with the app', async (t) => {
  const url = await sharedRedisUrl(t)
  const app = Fastify()
  const keyPrefix = uniquePrefix()
  await app.register(matchcastRedis, { redis: url, keyPrefix })
  await app.ready()
  const redis = app.matchcast.redis!
  t.equal(redis.key('match', 'm1'), `${keyPrefix}:match:m1`)
  t.equal(await redis.client.ping(), 'PONG')
  const sub = redis.duplicate()
  await until(() => sub.status === 'ready')
  await sub.subscribe(`${keyPrefix}:x`)
  await app.close()
  await until(() => redis.client.status === 'end' && sub.status === 'end')
  t.pass('the client and its duplicates are closed')
})

t.test('a client passed in is left open unless closeClient is set', async (t) => {
  const url = await sharedRedisUrl(t)
  const mine = new Redis(url)
  t.teardown(() => mine.disconnect())
  const app = Fastify()
  await app.register(matchcastRedis, { redis: mine })
  await app.close()
  t.equal(await mine.ping(), 'PONG', 'still usable')
  const owning = Fastify()
  await owning.register(matchcastRedis, { redis: mine, closeClient: true })
  await owning.close()
  await until(() => mine.status === 'end')
  t.equal(mine.status, 'end')
})

t.test('the app closes promptly while Redis is down, and transitions are logged once each', async (t) => {
  const server = await startRedis(t)
  const lines: string[] = []
  const app = Fastify({ logger: { level: 'info', stream: new Writable({ write (chunk, _enc, done) { lines.push(chunk.toString()); done() } }) } })
  await app.register(matchcastRedis, { redis: server.url, commandTimeoutMs: 100 })
  await app.ready()
  await server.kill()
  await until(() => lines.some((l) => l.includes('Redis connection failed')), 5000)
  // Let several reconnect attempts fail: still one warning.
  let errors = 0
  app.matchcast.redis!.client.on('error', () => { errors++ })
  await until(() => errors >= 2, 5000)
  await server.restart()
  await until(() => lines.some((l) => l.includes('Redis connection restored')), 5000)
  t.equal(lines.filter((l) => l.includes('Redis connection failed')).length, 1)
  await server.kill()
  await until(() => lines.filter((l) => l.includes('Redis connection failed')).length === 2, 5000)
  const started = Date.now()
  await app.close()
  t.ok(Date.now() - started < 2000, 'close does not wait for the dead Redis')
})

t.test('bad options fail at registration, naming the option', async (t) => {
  const cases: Array<[Record<string, unknown>, RegExp]> = [
    [{ redis: 'http://x' }, /redis: must be a redis:\/\/ or rediss:\/\/ URL/],
    [{ redis: 42 }, /redis: must be a redis:\/\/ or rediss:\/\/ URL, an ioredis client or Cluster, or \{ cluster: \[nodes…\] \}/],
    [{ redis: { host: '127.0.0.1' } }, /redis: must be a redis:\/\/ or rediss:\/\/ URL/],
    [{ redis: { cluster: [] } }, /redis\.cluster: must list at least one node/],
    [{ redis: { cluster: '127.0.0.1:7000' } }, /redis\.cluster: must list at least one node/],
    [{ redis: 'redis://127.0.0.1:1', keyPrefix: 'has space' }, /redis\.keyPrefix/],
    [{ redis: 'redis://127.0.0.1:1', commandTimeoutMs: 0 }, /redis\.commandTimeoutMs/]
  ]
  for (const [options, message] of cases) {
    const app = Fastify()
    await t.rejects(async () => { await app.register(matchcastRedis, options as never).ready() }, { code: 'MATCHCAST_ERR_INVALID_OPTS', message })
    await app.close()
  }
})

t.test('fail-fast client settings', async (t) => {
  const options = clientOptions(250)
  t.match(options, { enableOfflineQueue: false, maxRetriesPerRequest: 1, commandTimeout: 250 })
  t.equal(options.retryStrategy(1), 100)
  t.equal(options.retryStrategy(50), 1000, 'reconnect attempts are at most 1 s apart')
})
