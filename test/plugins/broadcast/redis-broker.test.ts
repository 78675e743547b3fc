import { once } from 'node:events'
import t from 'tap'
import { Redis } from 'ioredis'
import { RedisBroker } from '../../../plugins/broadcast/redis-broker.js'
import { clientOptions } from '../../../plugins/redis/index.js'
import { brokerSuite } from '../../../testing/broker-suite.js'
import { sharedRedisUrl, uniquePrefix } from '../../redis.js'

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
