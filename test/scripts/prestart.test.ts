/**
 * `npm start` on a fresh clone: scripts/prestart.mjs writes the demo server as JavaScript under
 * `.start/`, and plain `node` serves it from there. The children record no coverage: `.start/` is
 * build output, like `dist/`, and its source maps would fold esbuild's view of the sources into the report.
 */
import { execFile, spawn } from 'node:child_process'
import { existsSync, readFileSync, statSync, utimesSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import t from 'tap'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const env = { ...process.env, _TAPJS_PROCESSINFO_COVERAGE_: '0' }
const run = (...args: string[]) => promisify(execFile)(process.execPath, args, { cwd: ROOT, env, timeout: 60_000 })
const at = (file: string) => `${ROOT}.start/${file}`

t.test('the build: every module the bin reaches, the seed, the board; rebuilt only when a file it read changed', async (t) => {
  await run('scripts/prestart.mjs')
  for (const file of ['bin/matchcast.js', 'server.js', 'demo/seed.json', 'web/index.html', 'web/board.css', 'web/board.js',
    'plugins/certificates/pdf-document.js', 'plugins/store/postgres-store.js']) t.ok(existsSync(at(file)), file)
  t.ok(JSON.parse(readFileSync(at('.inputs.json'), 'utf8')).includes('plugins/certificates/pdf-document.ts'), 'modules loaded on first use are in the graph')
  const built = statSync(at('server.js')).mtimeMs
  await run('scripts/prestart.mjs')
  t.equal(statSync(at('server.js')).mtimeMs, built, 'nothing changed: nothing written')
  utimesSync(at('.inputs.json'), new Date(0), new Date(0)) // every input now looks newer than the build
  await run('scripts/prestart.mjs')
  t.ok(statSync(at('server.js')).mtimeMs > built, 'a changed input: built again')
})

t.test('node serves the demo server from .start/: the board with its built script, health, and tokens', async (t) => {
  await run('scripts/prestart.mjs')
  const child = spawn(process.execPath, ['.start/bin/matchcast.js'], { cwd: ROOT, env: { ...env, PORT: '0', MATCHCAST_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'inherit'] })
  t.teardown(() => { child.kill('SIGKILL') })
  let out = ''
  const base = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString()
      const found = /listening on (http:\/\/[\d.]+:\d+)/.exec(out)
      if (found !== null) resolve(found[1]!)
    })
    child.once('exit', (code) => reject(new Error(`exited (${code}) before listening: ${out}`)))
  })
  t.equal((await fetch(`${base}/healthz`)).status, 200)
  t.match(await (await fetch(`${base}/`)).text(), /<html/)
  t.equal(await (await fetch(`${base}/board.js`)).text(), readFileSync(at('web/board.js'), 'utf8'), 'the board\'s script as built, not bundled at start')
  const { stdout } = await run('.start/bin/matchcast.js', 'token', 'u-a')
  t.match(stdout, /^eyJ[\w-]+\.[\w-]+\.[\w-]+\n$/)
})
