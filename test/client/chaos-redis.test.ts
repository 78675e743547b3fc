/** Chaos on two instances sharing a real Redis (and one store), the SDK switching instance on every reconnect: see chaos.ts. */
import t from 'tap'
import { memoryStore } from '../../index.js'
import { startApp, testSeed } from '../helper.js'
import { sharedRedisUrl, uniquePrefix } from '../redis.js'
import { CHAOS_OPTIONS, chaos } from './chaos.js'

t.test('two instances on Redis: exactly the server sequence, every command once, whichever instance answers', async (t) => {
  const redis = await sharedRedisUrl(t)
  const store = memoryStore(testSeed())
  const keyPrefix = uniquePrefix()
  const options = { ...CHAOS_OPTIONS, store, redis, keyPrefix }
  await chaos(t, [await startApp(t, options), await startApp(t, options)])
})
