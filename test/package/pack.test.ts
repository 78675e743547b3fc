/**
 * The package as a user gets it: `npm pack`, the tarball installed into a throwaway host project
 * (strict, exactOptionalPropertyTypes, skipLibCheck: false), the host and the README's registration
 * example type-checked by the host's own tsc, the host booted, a room opened with a real `ws`
 * client, and `npx matchcast token` run. Slow (npm install): its own file, so tap runs it beside the rest.
 */
import { execFile, spawn } from 'node:child_process'
import { once } from 'node:events'
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import t from 'tap'
import { Client } from '../helper.js'

const run = promisify(execFile)
const root = fileURLToPath(new URL('../..', import.meta.url))
const fixture = fileURLToPath(new URL('./host', import.meta.url))
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string, dependencies: Record<string, string>, devDependencies: Record<string, string> }

// npm install and a tsc over every declaration file (skipLibCheck: false) take a while on a busy machine.
t.setTimeout(600_000)

/** The registration example of the README ("Add it to your Fastify app"), as written. */
function readmeExample (): string {
  const readme = readFileSync(join(root, 'README.md'), 'utf8')
  const section = readme.slice(readme.indexOf('## Add it to your Fastify app'))
  return /```ts\n([\s\S]*?)```/.exec(section)![1]!
}

const dir = mkdtempSync(join(tmpdir(), 'matchcast-host-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))

t.test('packs, installs into a strict TypeScript host, type-checks, boots and opens a room', async (t) => {
  const { stdout: packed } = await run('npm', ['pack', '--silent', '--pack-destination', dir], { cwd: root, maxBuffer: 1 << 24 })
  const tarball = join(dir, packed.trim().split('\n').at(-1)!)
  const { stdout: listing } = await run('tar', ['-tzf', tarball])
  for (const file of ['package/LICENSE', 'package/dist/index.d.ts', 'package/dist/protocol/index.js', 'package/dist/testing/index.d.ts',
    'package/dist/bin/matchcast.js', 'package/dist/client/index.js', 'package/dist/client/index.d.ts', 'package/dist/web/index.html',
    'package/dist/web/board.js', 'package/plugins/broadcast/lua/publish.lua']) t.match(listing, file, `ships ${file}`)
  t.notMatch(listing, /\.map\n|\.ts\n(?<!\.d\.ts\n)|package\/test\//, 'no source maps, sources or tests')

  const host = join(dir, 'host')
  cpSync(fixture, host, { recursive: true })
  writeFileSync(join(host, 'src', 'readme.ts'), readmeExample())
  const version = (name: string) => (pkg.dependencies[name] ?? pkg.devDependencies[name])!
  writeFileSync(join(host, 'package.json'), JSON.stringify({
    name: 'host-api',
    private: true,
    type: 'module',
    dependencies: {
      matchcast: `file:${tarball}`,
      fastify: version('fastify'),
      '@fastify/jwt': version('@fastify/jwt'),
      '@fastify/swagger': version('@fastify/swagger'),
      'prom-client': version('prom-client'),
      ws: version('ws')
    },
    devDependencies: { typescript: version('typescript'), '@types/node': version('@types/node') }
  }, null, 2))
  await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'], { cwd: host, maxBuffer: 1 << 24 })

  // The host's own tsc, over the host, the README example and the `testing` entry.
  const tsc = await run(join(host, 'node_modules', '.bin', 'tsc'), ['-p', '.'], { cwd: host }).then(() => '', (err: { stdout: string }) => err.stdout)
  t.equal(tsc, '', 'tsc prints nothing')

  const { REDIS_URL: _unused, ...env } = process.env
  const server = spawn(process.execPath, ['dist/main.js'], { cwd: host, stdio: ['ignore', 'pipe', 'inherit'], env })
  t.teardown(() => { server.kill('SIGKILL') })
  const [line] = await once(server.stdout, 'data') as [Buffer]
  const { address, token } = JSON.parse(line.toString()) as { address: string, token: string }

  const room = new Client(`${address.replace('http', 'ws')}/live/ws/matches/m1`, { headers: { authorization: `Bearer ${token}` } })
  t.teardown(() => room.close())
  t.match(await room.next(), { type: 'snapshot', matchId: 'm1', role: 'organizer' }, 'a room opens with the host\'s token')
  room.send({ type: 'match.start', id: 1 })
  // The ack and the event travel independently (README: Events).
  const replies = [await room.next(), await room.next()]
  t.same(replies.map((frame) => frame.type).sort(), ['ack', 'match_started'], 'a command is acked and its event sent')

  // The SDK from the installed package, in another process: the score it sends comes back as an event.
  const live = await run(process.execPath, ['dist/live.js', `${address}/live`, token], { cwd: host })
  t.same(JSON.parse(live.stdout), { seq: 2, scores: { 'u-a': 1, 'u-b': 0 }, state: 'live' }, 'matchcast/client follows the room and sends a command')

  const get = async (path: string) => { const res = await fetch(`${address}${path}`); return { status: res.status, text: await res.text() } }
  t.same(JSON.parse((await get('/healthz')).text), { host: 'ok' }, 'the host keeps /healthz')
  t.match((await get('/metrics')).text, /host_orders_total[\s\S]*matchcast_connections 1/, 'matchcast\'s metrics are in the host\'s registry')
  t.equal((await get('/live/ops/healthz')).status, 200)
  t.equal(JSON.parse((await get('/live/docs/asyncapi.json')).text).asyncapi, '3.0.0')
  t.equal((await get('/live/docs/')).status, 404, 'no Swagger UI over the host\'s document')

  const { stdout: cliToken } = await run('npx', ['--no-install', 'matchcast', 'token', 'u-a'], { cwd: host })
  t.match(cliToken.trim(), /^eyJ[\w-]+\.[\w-]+\.[\w-]+$/, 'npx matchcast token prints a token')
  server.kill('SIGTERM')
  t.equal((await once(server, 'exit'))[0], 0, 'the host shuts down cleanly')
})
