/**
 * Child process of the reconnect storm: one matchcast instance on the given Redis (its own memory
 * store, seeded like every instance's), so each instance has a process, as in production.
 * Messages: `stop` closes it (its sockets get 1001) and answers `stopped`; `position` answers the
 * seq of match m2.
 */
import Fastify from 'fastify'
import matchcast, { memoryStore } from '../index.js'
import { SECRET, testSeed } from '../test/helper.js'

const [redis, keyPrefix, clients] = process.argv.slice(2) as [string, string, string]
const app = Fastify()
await app.register(matchcast, {
  auth: { secret: SECRET },
  store: memoryStore(testSeed()),
  redis,
  keyPrefix,
  heartbeat: { intervalMs: 0 },
  rateLimit: { maxConnectionsPerUser: 10 * Number(clients), maxConnectionsPerIp: 0, messagesPerSecond: 1e9, burst: 1e9, upgradesPerIp: 0 }
})
// A storm of reconnects arrives at once: a backlog above Node's default 511 keeps SYNs from being dropped.
await app.listen({ port: 0, host: '127.0.0.1', backlog: 4096 })
process.on('message', (message: string) => {
  if (message === 'stop') {
    app.close().then(() => { process.send!({ type: 'stopped' }); process.exit(0) }, () => process.exit(1))
  }
  if (message === 'position') {
    app.matchcast.events.position('m2').then((p) => process.send!({ type: 'position', seq: p.seq }), () => process.exit(1))
  }
})
// Never outlive the bench that started it.
process.on('disconnect', () => process.exit(1))
process.send!({ type: 'ready', port: (app.server.address() as { port: number }).port })
