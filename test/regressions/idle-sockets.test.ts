/**
 * Sockets that connect and send nothing are closed, so they cannot hold the server's file
 * descriptors: the demo server sets Fastify's `connectionTimeout` (`MATCHCAST_CONNECTION_TIMEOUT_MS`),
 * and matchcast warns a host whose server has no such timeout.
 *
 * Guards the bug where idle sockets stayed open (until Node's 60 s `headersTimeout` at best), so that
 * under `ulimit -n 400` 450 of them made `/healthz` time out and a real WebSocket fail with 1006.
 */
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { connect, type Socket } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import Fastify, { type FastifyServerOptions } from 'fastify'
import t, { type Test } from 'tap'
import matchcast, { memoryStore } from '../../index.js'
import { createServer, DEV_SECRET, loadConfig } from '../../server.js'
import { Client, collectLogs, SECRET, testSeed, token } from '../helper.js'

/** A TCP connection that never sends a byte; resolves once the server has closed it. */
function idleSocket (port: number): { socket: Socket, closed: Promise<void> } {
  const socket = connect(port, '127.0.0.1')
  socket.on('error', () => {})
  // Reading is what notices the server's FIN (or reset).
  socket.resume()
  return { socket, closed: once(socket, 'close').then(() => {}) }
}

async function within<T> (ms: number, work: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => { timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms) })
  try {
    return await Promise.race([work, timeout])
  } finally {
    clearTimeout(timer)
  }
}

t.test('the demo server closes sockets that send nothing after MATCHCAST_CONNECTION_TIMEOUT_MS; a room socket outlives it', async (t) => {
  const app = await createServer(loadConfig({ MATCHCAST_CONNECTION_TIMEOUT_MS: '200', MATCHCAST_LOG_LEVEL: 'silent' }))
  t.teardown(() => app.close())
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as { port: number }
  const idle = Array.from({ length: 20 }, () => idleSocket(port))
  t.teardown(() => { for (const { socket } of idle) socket.destroy() })
  await within(10_000, Promise.all(idle.map((s) => s.closed)), 'idle sockets closed by the server')

  const room = new Client(`ws://127.0.0.1:${port}/ws/matches/m1`, { headers: { authorization: `Bearer ${token('u-org', { secret: DEV_SECRET })}` } })
  t.teardown(() => room.close())
  t.match(await room.next(), { type: 'snapshot', matchId: 'm1' })
  // A real wait: three timeouts long, with nothing sent either way. `ws` lifts the socket timeout on upgrade.
  await sleep(600)
  await room.ping()
})

t.test('a flood of idle sockets over the file-descriptor limit: once they time out, /healthz and a room work again', async (t) => {
  // The demo server in a child process whose file descriptors are limited, as in the report.
  // One process (no tsx launcher in between), so killing it at teardown ends the server.
  const child = spawn('sh', ['-c', `ulimit -n 400 && exec "${process.execPath}" --import tsx bin/matchcast.ts`], {
    env: { ...process.env, PORT: '0', MATCHCAST_LOG_LEVEL: 'silent', MATCHCAST_CONNECTION_TIMEOUT_MS: '300' },
    stdio: ['ignore', 'pipe', 'inherit']
  })
  t.teardown(() => { child.kill('SIGKILL') })
  let out = ''
  child.stdout.on('data', (chunk: Buffer) => { out += chunk.toString() })
  const port = await within(45_000, new Promise<number>((resolve) => {
    child.stdout.on('data', () => {
      const found = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(out)
      if (found !== null) resolve(Number(found[1]))
    })
  }), 'demo server start')

  // More idle sockets than the process may hold: the server cannot accept anything else meanwhile.
  const flood = Array.from({ length: 450 }, () => idleSocket(port))
  t.teardown(() => { for (const { socket } of flood) socket.destroy() })
  await within(5000, Promise.all(flood.map((s) => s.closed)), 'every idle socket closed by the server')

  const health = await within(5000, fetch(`http://127.0.0.1:${port}/healthz`), '/healthz')
  t.equal(health.status, 200)
  t.same(await health.json(), { status: 'ok' })
  const room = new Client(`ws://127.0.0.1:${port}/ws/matches/m1`, { headers: { authorization: `Bearer ${token('u-org', { secret: DEV_SECRET })}` } })
  t.teardown(() => room.close())
  t.match(await room.next(), { type: 'snapshot', matchId: 'm1' })
  await room.ping()
})

async function registrationWarnings (t: Test, options: FastifyServerOptions): Promise<string[]> {
  const { lines, logger } = collectLogs('warn')
  const app = Fastify({ ...options, logger })
  t.teardown(() => app.close())
  await app.register(matchcast, { auth: { secret: SECRET }, store: memoryStore(testSeed()), heartbeat: { intervalMs: 0 } })
  await app.ready()
  return lines.map((l) => l.msg)
}

t.test('matchcast warns once at registration when the host server leaves idle sockets open', async (t) => {
  const warned = await registrationWarnings(t, {})
  t.equal(warned.length, 1)
  t.match(warned[0], /neither connectionTimeout nor requestTimeout.*set Fastify's connectionTimeout/)
  t.same(await registrationWarnings(t, { connectionTimeout: 10_000 }), [], 'not with a connectionTimeout')
  t.same(await registrationWarnings(t, { requestTimeout: 30_000 }), [], 'nor with a requestTimeout')
})
