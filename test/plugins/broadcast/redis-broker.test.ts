import { once } from 'node:events'
import t from 'tap'
import { Redis } from 'ioredis'
import { RedisBroker } from '../../../plugins/broadcast/redis-broker.js'
import { clientOptions } from '../../../plugins/redis/index.js'
import { brokerSuite } from '../../../testing/broker-suite.js'
import { sharedRedisUrl, startRedis, uniquePrefix } from '../../redis.js'
import { until } from '../../helper.js'

const quiet = { info () {}, warn () {} }

t.test('RedisBroker conforms to the broker contract', async (t) => {
  const url = await sharedRedisUrl(t)
  brokerSuite(t, async (t, setup) => {
    const client = new Redis(url, clientOptions(500))
    t.teardown(() => client.quit())
    await once(client, 'ready')
    const broker = new RedisBroker({ ...setup, client, subscriber: client.duplicate(), prefix: uniquePrefix(), log: quiet })
    t.teardown(() => broker.close())
    return broker
  })
})

t.test('a match left while Redis is down is not subscribed again when it returns', async (t) => {
  const redis = await startRedis(t)
  const client = new Redis(redis.url, clientOptions(500))
  client.on('error', () => {})
  t.teardown(() => client.disconnect())
  await once(client, 'ready')
  const subscriber = client.duplicate()
  subscriber.on('error', () => {})
  const prefix = uniquePrefix()
  const broker = new RedisBroker({ historySize: 10, historyTtlMs: 60_000, client, subscriber, prefix, log: quiet })
  t.teardown(() => broker.close())
  const leaving = broker.subscribe('m1', () => {})
  broker.subscribe('m2', () => {})
  await until(() => broker.health().pending === 0 && broker.health().subscribers[0]!.status === 'up', 5000)
  await redis.kill()
  await until(() => broker.health().subscribers[0]!.status === 'down', 5000)
  leaving()
  await redis.restart()
  await until(() => subscriber.status === 'ready', 10_000)
  const admin = new Redis(redis.url)
  t.teardown(() => admin.disconnect())
  // Subscribed again once the broker's recovery says so: every watched channel confirmed.
  await until(() => broker.health().pending === 0 && broker.health().subscribers[0]!.status === 'up', 10_000)
  let channels: string[] = []
  for (let i = 0; i < 100 && channels.length === 0; i++) {
    channels = await admin.call('PUBSUB', 'CHANNELS') as string[]
    if (channels.length === 0) await new Promise((resolve) => setTimeout(resolve, 20))
  }
  t.same(channels, [`${prefix}:match:{m2}:events`], 'only the match still watched')
})

t.test('connected: at once when the subscriber is up; when it comes up; or after the timeout, still connecting', async (t) => {
  const url = await sharedRedisUrl(t)
  const client = new Redis(url, clientOptions(500))
  t.teardown(() => client.quit())
  await once(client, 'ready')
  const subscriber = new Redis(url, { ...clientOptions(500), lazyConnect: true })
  const broker = new RedisBroker({ historySize: 10, historyTtlMs: 60_000, client, subscriber, prefix: uniquePrefix(), log: quiet })
  t.teardown(() => broker.close())
  const started = Date.now()
  await broker.connected(30)
  t.ok(Date.now() - started >= 25, 'not connecting: the timeout ends the wait')
  t.equal(broker.health().subscribers[0]!.status, 'down', 'and says so')
  const waiting = broker.connected(10_000)
  subscriber.connect().catch(() => {})
  await waiting
  t.equal(subscriber.status, 'ready', 'resolved by the connection coming up')
  const again = Date.now()
  await broker.connected(10_000)
  t.ok(Date.now() - again < 1000, 'up already: no wait')
  t.equal(subscriber.listenerCount('ready'), 1, 'no listener left behind (only the broker\'s own)')
})
