/**
 * matchcast-redis on a real Redis Cluster: given as `{ cluster: [nodes…] }` (created and closed by
 * matchcast), as an ioredis `Cluster` of the host's, or through the demo server's
 * `MATCHCAST_REDIS_CLUSTER_NODES`.
 */
import { once } from 'node:events'
import Fastify from 'fastify'
import { Cluster } from 'ioredis'
import t from 'tap'
import { matchcastRedis } from '../../../index.js'
import { keySlot } from '../../../lib/key-slot.js'
import { createServer, loadConfig } from '../../../server.js'
import { startApp, until } from '../../helper.js'
import { uniquePrefix } from '../../redis.js'
import { startCluster } from '../../redis-cluster.js'

const cluster = await startCluster(t)

t.test('{ cluster: [nodes…] }: a cluster client with fail-fast settings, node connections, all closed with the app', async (t) => {
  const app = Fastify()
  await app.register(matchcastRedis, { redis: { cluster: cluster.startupNodes, slotsRefreshTimeout: 2000 }, keyPrefix: uniquePrefix() })
  await app.ready()
  const redis = app.matchcast.redis!
  t.equal(redis.cluster, true)
  t.ok(redis.client instanceof Cluster)
  t.match((redis.client as Cluster).options, { enableOfflineQueue: false, slotsRefreshTimeout: 2000, redisOptions: { commandTimeout: 500 } }, 'defaults, and the given options on top')
  t.equal(await redis.client.set(redis.key('x', '{a}'), '1'), 'OK')
  t.throws(() => redis.duplicate(), { code: 'MATCHCAST_ERR_INVALID_OPTS', message: /a cluster connection needs a node/ })
  const node = redis.duplicate(cluster.startupNodes[0]!)
  t.equal(await node.ping(), 'PONG', 'a connection to one node')
  const gone = redis.duplicate(cluster.startupNodes[1]!)
  await gone.quit()
  await app.close()
  await until(() => redis.client.status === 'end' && node.status === 'end')
  t.pass('the cluster client and its node connections are closed')
})

t.test('an ioredis Cluster passed in is left open unless closeClient is set', async (t) => {
  const mine = new Cluster(cluster.startupNodes)
  t.teardown(() => mine.disconnect())
  await once(mine, 'ready')
  const app = Fastify()
  await app.register(matchcastRedis, { redis: mine })
  await app.ready()
  t.equal(app.matchcast.redis!.cluster, true)
  await app.close()
  t.equal(await mine.ping(), 'PONG', 'still usable')
  const owning = Fastify()
  await owning.register(matchcastRedis, { redis: mine, closeClient: true })
  await owning.close()
  await until(() => mine.status === 'end')
  t.pass()
})

t.test('the demo server on MATCHCAST_REDIS_CLUSTER_NODES: ready, every slot served', async (t) => {
  const nodes = cluster.startupNodes.map((n) => `${n.host}:${n.port}`).join(',')
  const app = await createServer(loadConfig({ MATCHCAST_REDIS_CLUSTER_NODES: nodes, MATCHCAST_KEY_PREFIX: uniquePrefix(), MATCHCAST_LOG_LEVEL: 'silent', MATCHCAST_READINESS_TIMEOUT_MS: '5000' }))
  t.teardown(() => app.close())
  const res = await app.inject({ url: '/readyz' })
  t.equal(res.statusCode, 200)
  t.match(res.json(), { status: 'ok', checks: { redis: { status: 'up', cluster: { state: 'ok', slotsServed: 16384 }, subscribers: [], pendingChannels: 0 } } })
})

t.test('a node that does not answer in time (SIGSTOP) does not fail readiness while the others serve every slot', async (t) => {
  const app = await createServer(loadConfig({
    MATCHCAST_REDIS_CLUSTER_NODES: cluster.startupNodes.map((n) => `${n.host}:${n.port}`).join(','),
    MATCHCAST_KEY_PREFIX: uniquePrefix(),
    MATCHCAST_LOG_LEVEL: 'silent',
    // Room for the other nodes to answer on a loaded machine, well inside the node timeout.
    MATCHCAST_READINESS_TIMEOUT_MS: '700'
  }))
  t.teardown(() => app.close())
  await app.ready()
  // A primary, frozen for less than the cluster's node timeout: no failover, just no answer.
  const primary = await cluster.primaryOf(0)
  const pid = Number(/process_id:(\d+)/.exec(String(await cluster.command(primary, 'INFO', 'server')))![1])
  process.kill(pid, 'SIGSTOP')
  t.teardown(() => { try { process.kill(pid, 'SIGCONT') } catch {} })
  // Thawed just after the readiness timeout, however late the answer comes: never frozen for as
  // long as the cluster's node timeout, which would start a failover.
  const thaw = setTimeout(() => process.kill(pid, 'SIGCONT'), 750)
  const res = await app.inject({ url: '/readyz' })
  clearTimeout(thaw)
  process.kill(pid, 'SIGCONT')
  // Redis is up because another primary answers: a keyless PING could land on the frozen one.
  t.match(res.json(), { status: 'ok', checks: { redis: { status: 'up', cluster: { state: 'ok', slotsServed: 16384 } } } })
})

t.test('no primary answers (their connections closed): /readyz says Redis is down, and why', async (t) => {
  const client = new Cluster(cluster.startupNodes, { enableOfflineQueue: false })
  t.teardown(() => client.disconnect())
  await once(client, 'ready')
  const { app } = await startApp(t, { redis: client, keyPrefix: uniquePrefix(), http: { readinessTimeoutMs: 2000 } })
  for (const node of client.nodes('master')) node.disconnect()
  const body = (await app.inject({ url: '/readyz' })).json()
  t.match(body, { status: 'degraded', checks: { redis: { status: 'down', message: 'no primary answers (3 asked)' } } })
})

t.test('a shard with no primary left: /readyz is degraded (slots not served); a room on it subscribes once a primary serves it again', async (t) => {
  const app = await createServer(loadConfig({
    MATCHCAST_REDIS_CLUSTER_NODES: cluster.startupNodes.map((n) => `${n.host}:${n.port}`).join(','),
    MATCHCAST_KEY_PREFIX: uniquePrefix(),
    MATCHCAST_LOG_LEVEL: 'silent',
    // Room for the other nodes to answer on a loaded machine, well inside the node timeout.
    MATCHCAST_READINESS_TIMEOUT_MS: '700'
  }))
  t.teardown(() => app.close())
  await app.ready()
  const primary = await cluster.primaryOf(keySlot('m1'))
  const replica = await cluster.replicaOf(primary)
  const pair = cluster.nodes.filter((n) => n.port === primary || n.port === replica)
  for (const node of pair) await node.kill()
  // Every node must see the pair as failed before the cluster says so.
  let body: { status: string, checks: { redis: { cluster: { state: string, slotsServed: number } } } } | undefined
  for (let i = 0; i < 100; i++) {
    const res = await app.inject({ url: '/readyz' })
    body = res.json()
    if (body!.checks.redis.cluster.state === 'fail') break
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  t.match(body, { status: 'degraded', checks: { redis: { cluster: { state: 'fail' } } } })
  t.ok(body!.checks.redis.cluster.slotsServed < 16384, `${body!.checks.redis.cluster.slotsServed} slots served`)
  // A room on a match whose shard is gone still admits (from the store), and waits for its subscription.
  const got: number[] = []
  let resyncs = 0
  const stop = app.matchcast.events.subscribe('m1', (events) => got.push(...events.map((e) => e.seq)), () => resyncs++)
  t.teardown(stop)
  await app.matchcast.events.position('m1')
  t.equal(app.matchcast.events.health()!.pending, 1, 'no primary serves its slot: it waits')
  for (const node of pair) await node.restart()
  await cluster.healthy(30_000)
  await until(() => app.matchcast.events.health()!.pending === 0, 15_000)
  // The position read during the outage marked m1 lost: its first batch (or the retry before it)
  // starts a new epoch, which the subscriber gets as a resync; then events flow.
  for (let i = 0; i < 20 && got.length === 0; i++) {
    app.matchcast.events.emit('m1', { type: 'score_updated', data: { scores: { 'u-a': i } } })
    await app.matchcast.events.flush()
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  t.ok(resyncs >= 1, 'the subscriber resynced to the new epoch')
  const head = await app.matchcast.events.position('m1')
  t.equal(got.at(-1), head.seq, 'subscribed again: events flow')
  t.match((await app.inject({ url: '/readyz' })).json(), { status: 'ok', checks: { redis: { cluster: { state: 'ok', slotsServed: 16384 } } } })
})
