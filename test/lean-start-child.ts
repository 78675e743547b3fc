/**
 * Run by test/lean-start.test.ts in a process of its own (`node --import tsx`): builds the demo
 * server on its defaults, then uses what only some routes need (the docs, a certificate PDF, a
 * PostgreSQL store), then builds it with Redis, and prints as JSON which of the modules those load had been loaded at each step.
 * Modules are seen through a load hook that appends each URL to a file before the module runs.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { register } from 'node:module'

const [record, seedPath, databaseUrl, redisUrl] = process.argv.slice(2) as [string, string, string, string]
writeFileSync(record, '')
const hook = `import { appendFileSync } from 'node:fs'
export async function load (url, context, next) {
  appendFileSync(${JSON.stringify(record)}, url + '\\n')
  return next(url, context)
}`
register(`data:text/javascript,${encodeURIComponent(hook)}`)

/** The modules only some routes need, each as a pattern of its URL. */
const WATCHED = {
  pdfkit: /\/node_modules\/pdfkit\//,
  fontkit: /\/node_modules\/fontkit\//,
  uqr: /\/node_modules\/uqr\//,
  'pdf-document': /\/plugins\/certificates\/pdf-document\.ts$/,
  pg: /\/node_modules\/pg\//,
  ioredis: /\/node_modules\/ioredis\//,
  '@fastify/redis': /\/node_modules\/@fastify\/redis\//
}
const loaded = (): string[] => {
  const urls = readFileSync(record, 'utf8').split('\n')
  return Object.entries(WATCHED).filter(([, pattern]) => urls.some((url) => pattern.test(url))).map(([name]) => name)
}

const { createServer, demoToken, loadConfig } = await import('../server.js')
const config = loadConfig({ MATCHCAST_SEED: seedPath, MATCHCAST_LOG_LEVEL: 'silent' })
const app = await createServer(config, false)
const steps: Record<string, unknown> = { started: loaded() }

const docs = await app.inject({ url: '/docs/' })
const json = await app.inject({ url: '/docs/json' })
steps.docs = { status: [docs.statusCode, json.statusCode], loaded: loaded() }

const organizer = { authorization: `Bearer ${demoToken(config, 'u-org')}` }
const finalized = await app.inject({ method: 'POST', url: '/matches/m1/finalize', headers: organizer, payload: { scores: { 'u-a': 2, 'u-b': 1 } } })
const { certificate } = finalized.json() as { certificate: { id: string } }
const pdf = await app.inject({ url: `/certificates/${certificate.id}/download`, headers: organizer })
steps.pdf = { status: pdf.statusCode, type: pdf.headers['content-type'], magic: pdf.rawPayload.subarray(0, 5).toString(), loaded: loaded() }
await app.close()

const { postgresStore } = await import('../plugins/store/postgres-store.js')
const store = postgresStore({ connectionString: databaseUrl })
steps.storeMade = loaded()
await store.ping()
steps.storeUsed = loaded()
await store.close()

const withRedis = await createServer(loadConfig({ MATCHCAST_SEED: seedPath, MATCHCAST_LOG_LEVEL: 'silent', REDIS_URL: redisUrl, MATCHCAST_KEY_PREFIX: `lean-${process.pid}` }), false)
steps.redis = { ready: (await withRedis.inject({ url: '/readyz' })).json().checks.redis.status, loaded: loaded() }
await withRedis.close()

process.stdout.write(`${JSON.stringify(steps)}\n`)
