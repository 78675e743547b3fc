/**
 * Exactly-once commands across instances: two instances share a real Redis (and one store, the
 * source of truth), so a retry that reaches the other instance gets the first reply; Redis faults
 * leave commands working, never applied twice on one instance.
 */
import { Redis, type Cluster } from 'ioredis'
import t, { type Test } from 'tap'
import { memoryStore } from '../../../index.js'
import { fingerprint } from '../../../plugins/store/idempotency.js'
import { collectLogs, failOnce, holdWrites, join, reply, startApp, testSeed, until } from '../../helper.js'
import { sharedRedisUrl, startRedis, uniquePrefix } from '../../redis.js'

/** Two instances on one Redis and one store. */
async function pair (t: Test, redis: string) {
  const store = memoryStore(testSeed())
  const keyPrefix = uniquePrefix()
  const a = await startApp(t, { store, redis, keyPrefix })
  const b = await startApp(t, { store, redis, keyPrefix })
  return { store, keyPrefix, a, b }
}

/** Counts the GETs of an app's Redis client: a retry polling another instance's claim reads it. */
function countGets (redis: Redis | Cluster): () => number {
  const client = redis as Redis
  const get = client.get.bind(client)
  let gets = 0
  client.get = ((...args: Parameters<typeof get>) => { gets++; return get(...args) }) as typeof client.get
  return () => gets
}

/** The Redis key of a command id (as the server names it). */
function commandKey (prefix: string, matchId: string, userId: string, command: { id: string | number, [field: string]: unknown }): string {
  const { id, ...content } = command
  return `${prefix}:cmd:{${matchId}}:${fingerprint(matchId, userId, id, content)}`
}

t.test('across instances', async (t) => {
  const url = await sharedRedisUrl(t)

  t.test('a retry on another instance gets the first reply and is not applied again', async (t) => {
    const { store, a, b } = await pair(t, url)
    const onA = await join(t, a.wsUrl, 'u-b', 'm2')
    const watcher = await join(t, b.wsUrl, 'u-fan', 'm2')
    const report = { type: 'result.report', id: 'r-1', scores: { 'u-b': 3 } }
    onA.send(report)
    t.same(await reply(onA, 5000), { type: 'ack', id: 'r-1' })
    await onA.close()
    const onB = await join(t, b.wsUrl, 'u-b', 'm2')
    onB.send(report)
    t.same(await reply(onB, 5000), { type: 'ack', id: 'r-1' })
    onB.send({ ...report, scores: { 'u-b': 4 } })
    t.same(await reply(onB, 5000), { type: 'ack', id: 'r-1' }, 'the same id with another command is applied')
    await until(() => watcher.frames.length >= 3, 5000)
    const reported = watcher.frames.filter((f) => (f as { type: string }).type === 'result_reported') as Array<{ seq: number, data: unknown }>
    t.same(reported.map((e) => [e.seq, e.data]), [[1, { by: 'u-b', scores: { 'u-b': 3 } }], [2, { by: 'u-b', scores: { 'u-b': 4 } }]])
    t.match(await store.getMatch('m2'), { version: 2 })
  })

  t.test('an error reply is shared too', async (t) => {
    const { a, b } = await pair(t, url)
    const onA = await join(t, a.wsUrl, 'u-org', 'm1')
    const onB = await join(t, b.wsUrl, 'u-org', 'm1')
    const early = { type: 'match.cancel', id: 'c', reason: 'rain' }
    onA.send({ type: 'match.start', id: 'go' })
    t.same(await reply(onA, 5000), { type: 'ack', id: 'go' })
    onA.send({ type: 'match.start', id: 'go-again' })
    const refused = await reply(onA, 5000)
    t.match(refused, { type: 'error', id: 'go-again', code: 'invalid_state' })
    onB.send({ type: 'match.start', id: 'go-again' })
    t.same(await reply(onB, 5000), refused)
    onB.send(early)
    t.same(await reply(onB, 5000), { type: 'ack', id: 'c' })
  })

  t.test('a retry on another instance while the first still runs waits for its reply', async (t) => {
    const { store, a, b } = await pair(t, url)
    const { release, writes } = holdWrites(store)
    const onA = await join(t, a.wsUrl, 'u-org', 'm1')
    const onB = await join(t, b.wsUrl, 'u-org', 'm1')
    onA.send({ type: 'match.start', id: 'go' })
    await until(() => writes() === 1)
    const gets = countGets(b.app.matchcast.redis!.client)
    onB.send({ type: 'match.start', id: 'go' })
    await until(() => gets() >= 2, 5000)
    release()
    t.same(await reply(onA, 5000), { type: 'ack', id: 'go' })
    t.same(await reply(onB, 5000), { type: 'ack', id: 'go' })
    t.equal(writes(), 1, 'written once')
  })

  t.test('a command that failed inside the server is released for a retry elsewhere', async (t) => {
    const { store, a, b } = await pair(t, url)
    failOnce(store, 'updateMatch')
    const onA = await join(t, a.wsUrl, 'u-org', 'm1')
    const onB = await join(t, b.wsUrl, 'u-org', 'm1')
    onA.send({ type: 'match.start', id: 'go' })
    t.match(await reply(onA, 5000), { type: 'error', id: 'go', code: 'internal' })
    onB.send({ type: 'match.start', id: 'go' })
    t.same(await reply(onB, 5000), { type: 'ack', id: 'go' })
    t.match(await store.getMatch('m1'), { state: 'live', version: 1 })
  })

  t.test('a claim left by an instance that died frees itself after its pending lifetime', async (t) => {
    const { store, keyPrefix, a } = await pair(t, url)
    const redis = new Redis(url)
    t.teardown(() => redis.quit())
    const command = { type: 'match.start', id: 'go' }
    await redis.set(commandKey(keyPrefix, 'm1', 'u-org', command), 'pending', 'PX', 150)
    const org = await join(t, a.wsUrl, 'u-org', 'm1')
    org.send(command)
    t.same(await reply(org), { type: 'ack', id: 'go' })
    t.match(await store.getMatch('m1'), { state: 'live', version: 1 })
    t.equal(await redis.get(commandKey(keyPrefix, 'm1', 'u-org', command)), '{"ok":true}', 'the reply is shared')
    t.ok(await redis.pttl(commandKey(keyPrefix, 'm1', 'u-org', command)) > 290_000, 'for commandIdTtlMs')
  })
})

t.test('Redis faults', async (t) => {
  const redis = await startRedis(t)
  const logs = collectLogs('warn')
  const store = memoryStore(testSeed())
  const keyPrefix = uniquePrefix()
  const { app, wsUrl } = await startApp(t, { store, redis: redis.url, keyPrefix }, testSeed(), { logger: logs.logger })
  const warnings = () => logs.lines.filter((l) => l.msg.startsWith('matchcast: command ids cannot be shared')).length

  t.test('Redis down: commands still apply, each once per instance, with one warning per outage', async (t) => {
    const b = await join(t, wsUrl, 'u-b', 'm2')
    await redis.kill()
    const report = { type: 'result.report', id: 'r', scores: { 'u-b': 1 } }
    b.send(report)
    t.same(await reply(b), { type: 'ack', id: 'r' })
    b.send(report)
    t.same(await reply(b), { type: 'ack', id: 'r' })
    b.send({ ...report, id: 'r2' })
    t.same(await reply(b), { type: 'ack', id: 'r2' })
    t.match(await store.getMatch('m2'), { version: 2 }, 'the retry was not applied again')
    t.equal(warnings(), 1, 'one warning for the outage')
    await redis.restart()
    await until(() => app.matchcast.redis!.client.status === 'ready', 5000)
    await redis.kill()
    b.send({ ...report, id: 'r3' })
    t.same(await reply(b), { type: 'ack', id: 'r3' })
    t.equal(warnings(), 2, 'a new outage warns again')
    await redis.restart()
  })

  t.test('Redis failing while another instance runs the command: nothing is applied', async (t) => {
    const direct = new Redis(redis.url)
    t.teardown(() => direct.disconnect())
    await until(() => app.matchcast.redis!.client.status === 'ready', 5000)
    const command = { type: 'match.cancel', id: 'x', reason: 'rain' }
    await direct.set(commandKey(keyPrefix, 'm3', 'u-org', command), 'pending', 'PX', 60_000)
    const org = await join(t, wsUrl, 'u-org', 'm3')
    const gets = countGets(app.matchcast.redis!.client)
    org.send(command)
    await until(() => gets() >= 2, 5000)
    await redis.kill()
    t.match(await reply(org), { type: 'error', id: 'x', code: 'internal', message: /running on another instance/ })
    t.match(await store.getMatch('m3'), { state: 'scheduled', version: 0 })
  })
})
