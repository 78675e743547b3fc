/**
 * One matchcast instance for the kill tests, run as a child process: the umbrella plugin on
 * PostgreSQL and Redis, listening on loopback. It prints `listening <port>` once ready.
 *
 * Environment (read by this script only, never by the library):
 *   DATABASE_URL, MATCHCAST_TEST_SCHEMA   the PostgreSQL store (an existing, migrated schema)
 *   REDIS_URL, MATCHCAST_KEY_PREFIX       the shared Redis
 *   MATCHCAST_TEST_OPTIONS                JSON merged into the plugin options (windows, leases…)
 *   MATCHCAST_TEST_FAULT                  `<point>:<n>`: the process kills itself with SIGKILL at the
 *                                         n-th time it reaches `point` of a command's path:
 *     commit     the store committed the change (and its outbox entry); the ack is not sent yet
 *     window     the change is committed and acked; at a random moment of the batch window
 *     publish    the relay is about to run the Redis script (nothing sequenced yet)
 *     sequenced  the Redis script sequenced and published the events; the outbox is not marked yet
 *     done       the outbox was marked
 */
import Fastify from 'fastify'
import { Redis } from 'ioredis'
import matchcast, { postgresStore } from '../index.js'
import { clientOptions } from '../plugins/redis/index.js'
import type { PublishCommand } from '../plugins/broadcast/redis-wire.js'
import { SECRET } from './helper.js'

const env = (name: string): string => {
  const value = process.env[name]
  if (value === undefined) throw new Error(`${name} is required`)
  return value
}

const [point, nth] = (process.env.MATCHCAST_TEST_FAULT ?? 'none:0').split(':') as [string, string]
let reached = 0
/** Called at each point of the path; dies for real at the chosen one. */
function at (name: string): void {
  if (name !== point || ++reached !== Number(nth)) return
  if (name === 'window') {
    const windowMs = (options.batching as { windowMs?: number } | undefined)?.windowMs ?? 50
    setTimeout(() => process.kill(process.pid, 'SIGKILL'), Math.random() * windowMs)
    return
  }
  process.kill(process.pid, 'SIGKILL')
}

const options = JSON.parse(process.env.MATCHCAST_TEST_OPTIONS ?? '{}') as Record<string, unknown>
const store = postgresStore({ connectionString: env('DATABASE_URL'), schema: env('MATCHCAST_TEST_SCHEMA') })
for (const method of ['updateMatch', 'completeMatch'] as const) {
  const original = store[method].bind(store) as (...args: unknown[]) => Promise<unknown>
  ;(store as unknown as Record<string, unknown>)[method] = async (...args: unknown[]) => {
    const result = await original(...args)
    if (result !== undefined) {
      at('commit')
      at('window')
    }
    return result
  }
}
const markPublished = store.markPublished.bind(store)
store.markPublished = async (matchId, version) => {
  await markPublished(matchId, version)
  at('done')
}

const redis = new Redis(env('REDIS_URL'), clientOptions(500))
const app = Fastify()
await app.register(matchcast, {
  auth: { secret: SECRET },
  store,
  redis,
  keyPrefix: env('MATCHCAST_KEY_PREFIX'),
  heartbeat: { intervalMs: 0 },
  ...options
} as Parameters<typeof matchcast>[1])
await app.ready()

// The broker defined its publish script on the client at registration; a relay is a call with events.
const client = redis as Redis & PublishCommand
const publish = client.matchcastPublish.bind(client)
client.matchcastPublish = async (...args) => {
  // Two keys and ten fixed arguments (lua/publish.lua); more are events.
  const relaying = args.length > 12
  if (relaying) at('publish')
  const reply = await publish(...args)
  if (relaying) at('sequenced')
  return reply
}

const address = await app.listen({ port: 0, host: '127.0.0.1' })
process.stdout.write(`listening ${new URL(address).port}\n`)
process.on('SIGTERM', () => { app.close().then(() => Promise.all([redis.quit(), store.close()])).finally(() => process.exit(0)) })
