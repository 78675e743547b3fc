/**
 * What a lean start means for a user: the demo server on its defaults starts without the modules
 * only some routes or settings need (PDF rendering, the PostgreSQL driver, the Redis client), and
 * the first request (or a start with Redis) that needs them loads them and answers as before. Memory figures are the bench's (bench/rss.ts), not a test's.
 */
import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import t from 'tap'
import { DEMO_SEED_PATH } from '../server.js'
import type { Seed } from '../schemas/common.js'
import { DATABASE_URL } from './postgres.js'
import { sharedRedisUrl } from './redis.js'

t.test('the demo server starts without PDFKit, fontkit, the QR encoder, pg or ioredis; the first use loads each', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'matchcast-lean-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  // The demo seed with m1 live, so the child can finalize it and download its certificate.
  const seed = JSON.parse(readFileSync(DEMO_SEED_PATH, 'utf8')) as Seed
  for (const m of seed.matches) if (m.id === 'm1') m.state = 'live'
  writeFileSync(join(dir, 'seed.json'), JSON.stringify(seed))
  const child = fileURLToPath(new URL('./lean-start-child.ts', import.meta.url))
  // The child records no coverage: tsx compiles the sources otherwise than tap's loader does, and
  // coverage of the two compilations of a file does not merge.
  const env = { ...process.env, _TAPJS_PROCESSINFO_COVERAGE_: '0' }
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', child, join(dir, 'loaded.txt'), join(dir, 'seed.json'), DATABASE_URL, await sharedRedisUrl(t)], { env, timeout: 120_000 })
  const steps = JSON.parse(stdout) as { started: string[], docs: unknown, pdf: unknown, storeMade: string[], storeUsed: string[], redis: { ready: string, loaded: string[] } }
  t.same(steps.started, [], 'none of them at start')
  t.same(steps.docs, { status: [200, 200], loaded: [] }, 'the docs need none of them')
  t.same(steps.pdf, { status: 200, type: 'application/pdf', magic: '%PDF-', loaded: ['pdfkit', 'fontkit', 'uqr', 'pdf-document'] },
    'the first download renders the PDF, loading PDFKit, fontkit and the QR encoder')
  t.notOk(steps.storeMade.includes('pg'), 'making a PostgreSQL store does not load the driver')
  t.ok(steps.storeUsed.includes('pg'), 'its first call does')
  t.notOk(steps.storeUsed.includes('ioredis') || steps.storeUsed.includes('@fastify/redis'), 'nothing of it loads ioredis')
  t.same(steps.redis.ready, 'up', 'a server with Redis connects to it')
  t.ok(steps.redis.loaded.includes('ioredis') && steps.redis.loaded.includes('@fastify/redis'), 'loading ioredis and @fastify/redis as it is built')
})
