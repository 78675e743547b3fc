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
import { createServer, loadConfig } from '../../../server.js'
import { until } from '../../helper.js'
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
  const app = await createServer(loadConfig({ MATCHCAST_REDIS_CLUSTER_NODES: nodes, MATCHCAST_KEY_PREFIX: uniquePrefix(), MATCHCAST_LOG_LEVEL: 'silent' }))
  t.teardown(() => app.close())
  const res = await app.inject({ url: '/readyz' })
  t.equal(res.statusCode, 200)
  t.match(res.json(), { status: 'ok', checks: { redis: { status: 'up', cluster: { state: 'ok', slotsServed: 16384 }, subscribers: [], pendingChannels: 0 } } })
})
