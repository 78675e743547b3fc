/**
 * Real redis-server processes for tests. `startRedis` starts a private one on a free loopback port
 * (fault tests kill and restart it); `sharedRedisUrl` is `REDIS_URL` when set, else a private one
 * per test file. Suites sharing a server isolate themselves with `uniquePrefix()`, never FLUSHALL.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { once } from 'node:events'
import { createServer, connect } from 'node:net'
import { Redis } from 'ioredis'
import type { TapLike } from './helper.js'

export interface RedisProcess {
  port: number
  url: string
  /** Kills the server (SIGKILL: no goodbye to clients) and resolves once it has exited. */
  kill (): Promise<void>
  /** Starts it again on the same port; resolves once it accepts connections. */
  restart (): Promise<void>
  /** Freezes it (SIGSTOP): connections stay open, nothing answers. */
  freeze (): void
  /** Lets a frozen server run again (SIGCONT), with everything it held. */
  thaw (): void
}

/** A TCP port on 127.0.0.1 that nothing listens on right now. */
export async function freePort (): Promise<number> {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as { port: number }
  server.close()
  await once(server, 'close')
  return port
}

async function accepting (port: number, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => { socket.end(); resolve(true) })
      socket.on('error', () => resolve(false))
    })
    if (ok) return
    if (Date.now() > deadline) throw new Error(`redis-server on ${port} did not start within ${ms} ms`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

export async function startRedis (t: TapLike): Promise<RedisProcess> {
  const port = await freePort()
  let child: ChildProcess | undefined
  const launch = async () => {
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' })
    await accepting(port)
  }
  const kill = async () => {
    const c = child
    child = undefined
    if (c === undefined || c.exitCode !== null) return
    const exited = once(c, 'exit')
    c.kill('SIGKILL')
    await exited
  }
  await launch()
  t.teardown(kill)
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    kill,
    restart: launch,
    freeze: () => { child?.kill('SIGSTOP') },
    thaw: () => { child?.kill('SIGCONT') }
  }
}

/** `REDIS_URL`, or a private server for this file's tests. */
export async function sharedRedisUrl (t: TapLike): Promise<string> {
  if (process.env.REDIS_URL !== undefined && process.env.REDIS_URL !== '') return process.env.REDIS_URL
  return (await startRedis(t)).url
}

/** A key prefix no other test uses. */
export function uniquePrefix (): string {
  return `mc-test-${randomUUID().slice(0, 8)}`
}

/** Counts, through MONITOR, the commands a redis-server runs (any client's) that match. */
export interface CommandCounter {
  /** The matching commands run so far: every one run before this call is counted. */
  count (): Promise<number>
}

/**
 * Watches every command the server at `url` runs and counts those `match` accepts (`args[0]` is
 * the command, lower case; its arguments follow, as strings).
 */
export async function countCommands (t: TapLike, url: string, match: (args: string[]) => boolean): Promise<CommandCounter> {
  const client = new Redis(url, { lazyConnect: true })
  client.on('error', () => {})
  await client.connect()
  const monitor = await client.monitor()
  monitor.on('error', () => {})
  t.teardown(() => { monitor.disconnect(); client.disconnect() })
  let counted = 0
  const markers = new Map<string, () => void>()
  monitor.on('monitor', (_time: string, args: string[]) => {
    const command = [String(args[0]).toLowerCase(), ...args.slice(1).map(String)]
    const marker = command[0] === 'echo' ? markers.get(command[1]!) : undefined
    if (marker !== undefined) marker()
    else if (match(command)) counted++
  })
  return {
    async count () {
      // MONITOR reports commands in the order the server ran them: once this marker is seen,
      // every command run before it has been counted.
      const marker = `count-${randomUUID()}`
      const seen = new Promise<void>((resolve) => markers.set(marker, resolve))
      await client.echo(marker)
      await seen
      markers.delete(marker)
      return counted
    }
  }
}

/** A counter's match: the limiter's bucket script (EVALSHA, or EVAL when reloaded) on any user's bucket. */
export function bucketScript (args: string[]): boolean {
  return (args[0] === 'evalsha' || args[0] === 'eval') && /:limit-bucket:/.test(args[3] ?? '')
}
