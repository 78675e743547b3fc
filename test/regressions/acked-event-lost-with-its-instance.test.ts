/**
 * An acked command whose event still waited in its instance's batch window when the instance was
 * killed was never delivered: a spectator on another instance kept the old score, and a client
 * resuming there with `lastSeq`/`epoch` got no frames and no resync, for good. The event now waits
 * in the store's outbox, and the surviving instance delivers it.
 */
import t from 'tap'
import { postgresStore } from '../../index.js'
import { as, client, startApp, testSeed } from '../helper.js'
import { DATABASE_URL, pgStore } from '../postgres.js'
import { startRedis, uniquePrefix } from '../redis.js'
import { spawnInstance } from '../spawn.js'

t.test('an acked score.update whose instance was killed inside the batch window reaches the other instance\'s rooms', async (t) => {
  const redis = await startRedis(t)
  const keyPrefix = uniquePrefix()
  const store = await pgStore(t, testSeed())
  // A window that never closes on its own: the event is still in it when the instance dies.
  const victim = await spawnInstance(t, {
    DATABASE_URL,
    MATCHCAST_TEST_SCHEMA: store.schema,
    REDIS_URL: redis.url,
    MATCHCAST_KEY_PREFIX: keyPrefix,
    MATCHCAST_TEST_OPTIONS: JSON.stringify({ batching: { windowMs: 60_000 } })
  })
  const survivorStore = postgresStore({ connectionString: DATABASE_URL, schema: store.schema })
  t.teardown(() => survivorStore.close())
  const survivor = await startApp(t, { store: survivorStore, redis: redis.url, keyPrefix })
  const spectator = client(t, survivor.wsUrl, '/ws/matches/m2', as('u-fan'))
  const { epoch } = await spectator.next()
  const org = client(t, victim.wsUrl, '/ws/matches/m2', as('u-org'))
  await org.next()
  org.send({ type: 'score.update', id: 1, scores: { 'u-b': 1 } })
  t.same(await org.next(), { type: 'ack', id: 1 })
  t.equal(await victim.kill(), 'SIGKILL')

  const resuming = client(t, survivor.wsUrl, `/ws/matches/m2?lastSeq=0&epoch=${String(epoch)}`, as('u-a'))
  t.match(await resuming.next(), { type: 'score_updated', seq: 1, data: { scores: { 'u-b': 1 } } }, 'the resume replays it')
  t.match(await spectator.next(), { type: 'score_updated', seq: 1, data: { scores: { 'u-b': 1 } } }, 'the spectator gets it')
})
