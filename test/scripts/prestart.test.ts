/**
 * `npm start` on a fresh clone: scripts/prestart.mjs writes the demo server as JavaScript under
 * `.start/`, and plain `node` serves it from there. The children record no coverage: `.start/` is
 * build output, like `dist/`, and its source maps would fold esbuild's view of the sources into the report.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { existsSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import t from 'tap'
import { sharedRedisUrl } from '../redis.js'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const env = { ...process.env, _TAPJS_PROCESSINFO_COVERAGE_: '0' }
const run = (...args: string[]) => promisify(execFile)(process.execPath, args, { cwd: ROOT, env, timeout: 60_000 })
const at = (file: string) => `${ROOT}.start/${file}`

/** Resolves with the base URL once `child` prints where it listens; `output()` is everything it printed so far. */
function listening (child: ChildProcess): { base: Promise<string>, output: () => string } {
  let out = ''
  const base = new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString()
      const found = /listening on (http:\/\/[\d.]+:\d+)/.exec(out)
      if (found !== null) resolve(found[1]!)
    })
    child.once('exit', (code) => reject(new Error(`exited (${code}) before listening: ${out}`)))
  })
  return { base, output: () => out }
}

t.test('the build: the bin bundled with what it loads at start, the seed, the board; rebuilt only when a file it read changed', async (t) => {
  await run('scripts/prestart.mjs')
  for (const file of ['bin/matchcast.js', 'demo/seed.json', 'web/index.html', 'web/board.css', 'web/board.js']) t.ok(existsSync(at(file)), file)
  const inputs = JSON.parse(readFileSync(at('.inputs.json'), 'utf8')) as string[]
  t.ok(inputs.includes('plugins/certificates/pdf-document.ts'), 'modules loaded on first use are in the graph')
  t.ok(inputs.some((file) => file.startsWith('node_modules/fastify/')), 'packages loaded at start are bundled')
  // What the bundle still imports by name: Node's built-ins, and the packages left to node_modules.
  const code = readdirSync(at('bin')).filter((file) => file.endsWith('.js')).map((file) => readFileSync(at(`bin/${file}`), 'utf8')).join('\n')
  const specifiers = [...code.matchAll(/\bimport\s*[\w$*{}\s,]*?\s*from\s*"([^"]+)"/g), ...code.matchAll(/\bimport\(\s*"([^"]+)"\s*\)/g)].map((m) => m[1]!)
  const named = new Set(specifiers.filter((name) => !name.startsWith('node:') && !name.startsWith('.')))
  const left = ['@fastify/redis', '@fastify/static', '@fastify/swagger', '@fastify/swagger-ui', '@fontsource/noto-emoji', 'esbuild', 'fontkit', 'ioredis', 'pdfkit', 'pg', 'uqr']
  t.same([...named].filter((name) => !left.includes(name)), [], 'only packages loaded on first use, or serving their own files')
  t.ok(named.has('pdfkit') && named.has('pg'), 'PDF rendering and the PostgreSQL driver come from node_modules, on first use')
  t.notOk(named.has('fastify') || named.has('typebox'), 'fastify and typebox are in the bundle')
  const built = statSync(at('bin/matchcast.js')).mtimeMs
  await run('scripts/prestart.mjs')
  t.equal(statSync(at('bin/matchcast.js')).mtimeMs, built, 'nothing changed: nothing written')
  utimesSync(at('.inputs.json'), new Date(0), new Date(0)) // every input now looks newer than the build
  await run('scripts/prestart.mjs')
  t.ok(statSync(at('bin/matchcast.js')).mtimeMs > built, 'a changed input: built again')
})

t.test('node serves the demo server from .start/: the board with its built script, health, tokens, a certificate PDF, the docs, and Redis', async (t) => {
  await run('scripts/prestart.mjs')
  // The demo seed with m1 live, so it can be finalized.
  const seed = JSON.parse(readFileSync(at('demo/seed.json'), 'utf8')) as { matches: Array<{ id: string, state: string }> }
  seed.matches.find((m) => m.id === 'm1')!.state = 'live'
  const seedPath = join(t.testdir(), 'seed.json')
  writeFileSync(seedPath, JSON.stringify(seed))
  const child = spawn(process.execPath, ['.start/bin/matchcast.js'], {
    cwd: ROOT,
    env: { ...env, PORT: '0', MATCHCAST_LOG_LEVEL: 'warn', MATCHCAST_SEED: seedPath, REDIS_URL: await sharedRedisUrl(t) },
    stdio: ['ignore', 'pipe', 'inherit']
  })
  t.teardown(() => { child.kill('SIGKILL') })
  const base = await listening(child).base
  t.equal((await fetch(`${base}/healthz`)).status, 200)
  // The Redis scripts are read from plugins/<name>/lua/, as from dist/.
  t.match(await (await fetch(`${base}/readyz`)).json(), { status: 'ok', checks: { redis: { status: 'up', limiter: 'redis' } } })
  t.match(await (await fetch(`${base}/`)).text(), /<html/)
  t.equal(await (await fetch(`${base}/board.js`)).text(), readFileSync(at('web/board.js'), 'utf8'), 'the board\'s script as built, not bundled at start')
  const { stdout } = await run('.start/bin/matchcast.js', 'token', 'u-org')
  t.match(stdout, /^eyJ[\w-]+\.[\w-]+\.[\w-]+\n$/)
  const headers = { authorization: `Bearer ${stdout.trim()}`, 'content-type': 'application/json' }
  const finalized = await fetch(`${base}/matches/m1/finalize`, { method: 'POST', headers, body: JSON.stringify({ scores: { 'u-a': 2, 'u-b': 1 } }) })
  t.equal(finalized.status, 200)
  const { certificate } = await finalized.json() as { certificate: { id: string } }
  const pdf = await fetch(`${base}/certificates/${certificate.id}/download`, { headers })
  t.equal(pdf.headers.get('content-type'), 'application/pdf')
  t.equal(Buffer.from(await pdf.arrayBuffer()).subarray(0, 5).toString(), '%PDF-', 'the PDF, rendered by the chunk loaded on first use')
  const docs = await fetch(`${base}/docs/`)
  t.equal(docs.status, 200)
  t.match(await (await fetch(`${base}/docs/static/swagger-ui.css`)).text(), /swagger-ui/, 'Swagger UI serves its files from node_modules')
})

t.test('in a terminal the bundled server logs through pino-pretty (a worker thread, started from node_modules)', async (t) => {
  await run('scripts/prestart.mjs')
  // `script` gives the server a pseudo-terminal, as `npm start` in a shell has; its group is killed at the end.
  const child = spawn('script', ['-qec', `${process.execPath} .start/bin/matchcast.js`, '/dev/null'], {
    cwd: ROOT, env: { ...env, PORT: '0', MATCHCAST_LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'inherit'], detached: true
  })
  t.teardown(() => { try { process.kill(-child.pid!, 'SIGKILL') } catch {} })
  const { base, output } = listening(child)
  t.equal((await fetch(`${await base}/healthz`)).status, 200)
  const logged = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), 10_000)
    const check = () => {
      if (!/INFO.*incoming request/.test(output())) return
      clearTimeout(timer)
      resolve(true)
    }
    check()
    child.stdout.on('data', check)
  })
  t.ok(logged, 'a request logged as a human-readable line')
  t.notMatch(output(), /"level":|__dirname/, 'no JSON lines, no failed start')
})
