/**
 * Child process of the memory benchmark: serves matchcast for N users and reports its own memory
 * on request, so the figure is the server's alone (the clients live in the parent).
 */
import Fastify from 'fastify'
import matchcast, { memoryStore } from '../index.js'

const users = Number(process.argv[2] ?? 1000)
const app = Fastify()
await app.register(matchcast, {
  auth: { secret: 'bench-secret-bench-secret-bench-secret' },
  store: memoryStore({
    tournaments: [{ id: 't', name: 'Bench Cup' }],
    members: Array.from({ length: users }, (_, i) => ({ tournamentId: 't', userId: `u${i}`, role: 'spectator' as const })),
    matches: Array.from({ length: 10 }, (_, i) => ({ id: `m${i}`, tournamentId: 't', participants: ['p1', 'p2'], state: 'live' as const }))
  }),
  heartbeat: { intervalMs: 0 },
  // Every bench socket comes from 127.0.0.1: the per-IP limits would refuse most of them.
  rateLimit: { upgradesPerIp: 0, maxConnectionsPerIp: 0 }
})
await app.listen({ port: 0, host: '127.0.0.1' })
const { port } = app.server.address() as { port: number }
const tokens = Array.from({ length: users }, (_, i) => app.jwt.sign({ sub: `u${i}` }, { expiresIn: '1h' }))

const measure = () => {
  (globalThis as { gc?: () => void }).gc?.()
  const { rss, heapUsed } = process.memoryUsage()
  return { rss, heapUsed, connections: app.matchcast.connections.size }
}
process.on('message', (message: string) => {
  if (message === 'measure') process.send!({ type: 'memory', ...measure() })
  if (message === 'stop') app.close().then(() => process.exit(0), () => process.exit(1))
})
process.send!({ type: 'ready', port, tokens })
