/**
 * The processes of the fixed-rate fan-out bench and the profiler: the servers under test (the
 * demo server as `npm start` runs it; bench/bare-server.ts, the baseline) and the load generator
 * (bench/load.ts), each of which exits with the bench. Also the workloads and the seed file they need.
 */
import { execFileSync, fork, spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { Seed } from '../index.js'
import type { LoadInit, RunRequest, StepResult, Workload } from './load-protocol.js'

export const SECRET = 'bench-secret-bench-secret-bench-secret'
export const ORGANIZER = 'org'

export const WORKLOADS: Workload[] = [
  { name: '1 match × 1000 sockets', matches: ['a0'], socketsPerMatch: 1000, userPrefix: 'w' },
  { name: '100 matches × 10 sockets', matches: Array.from({ length: 100 }, (_, i) => `b${i}`), socketsPerMatch: 10, userPrefix: 'v' }
]

/** A tournament holding every workload's matches (live), its watchers (spectators, one user per socket) and the organizer. */
export function writeSeed (path: string, workloads: Workload[] = WORKLOADS): void {
  const members: Seed['members'] = [
    { tournamentId: 't', userId: ORGANIZER, role: 'organizer' },
    { tournamentId: 't', userId: 'p1', role: 'participant' },
    { tournamentId: 't', userId: 'p2', role: 'participant' }
  ]
  const matches: Seed['matches'] = []
  for (const w of workloads) {
    for (let i = 0; i < w.matches.length * w.socketsPerMatch; i++) members.push({ tournamentId: 't', userId: `${w.userPrefix}${i}`, role: 'spectator' })
    for (const id of w.matches) matches.push({ id, tournamentId: 't', participants: ['p1', 'p2'], state: 'live' })
  }
  const seed: Seed = { tournaments: [{ id: 't', name: 'Fixed-rate Cup' }], members, matches }
  writeFileSync(path, JSON.stringify(seed))
}

/**
 * The demo server's environment: the seed, batching window 0, and limits raised so nothing the
 * bench sends is refused (one organizer sends every command over 101 sockets, from one IP address).
 * Nothing of the bench's own environment that configures the demo server is passed on.
 */
export function matchcastEnv (seedPath: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [key, value] of Object.entries(process.env)) {
    if (!/^(MATCHCAST_|DATABASE_URL$|REDIS_URL$|PORT$|HOST$)/.test(key)) env[key] = value
  }
  return {
    ...env,
    PORT: '0',
    HOST: '127.0.0.1',
    MATCHCAST_SEED: seedPath,
    MATCHCAST_JWT_SECRET: SECRET,
    MATCHCAST_BATCH_WINDOW_MS: '0',
    MATCHCAST_LOG_LEVEL: 'warn',
    MATCHCAST_MAX_CONNECTIONS_PER_USER: '1000',
    MATCHCAST_MESSAGES_PER_SECOND: '10000000',
    MATCHCAST_BURST: '10000000',
    MATCHCAST_UPGRADES_PER_IP: '0',
    MATCHCAST_MAX_CONNECTIONS_PER_IP: '0',
    ...extra
  }
}

export interface Child { child: ChildProcess, pid: number, port: number, exited: Promise<unknown>, stop (): Promise<void> }

/** Stops `child` with `stop` (a graceful close, so a profiler writes its profile); kills it when that takes over 5 s. */
function stopper (child: ChildProcess, exited: Promise<unknown>, stop: () => void): () => Promise<void> {
  return async () => {
    if (child.exitCode !== null || child.signalCode !== null) return
    stop()
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
    await exited
    clearTimeout(timer)
  }
}

const ROOT = fileURLToPath(new URL('../', import.meta.url))
let built = false

/**
 * The demo server as `npm start` runs it: `node .start/bin/matchcast.js`, the bundle
 * scripts/prestart.mjs makes (rebuilt first when its inputs changed, once per bench), so the
 * figures are those of the JavaScript users run, not of TypeScript compiled on the fly. Resolves
 * once it prints where it listens; `stop` sends SIGTERM (the server closes, then exits).
 */
export async function startDemo (env: NodeJS.ProcessEnv, execArgv: string[] = []): Promise<Child> {
  if (!built) execFileSync(process.execPath, ['scripts/prestart.mjs'], { cwd: ROOT, stdio: 'inherit' })
  built = true
  const child = spawn(process.execPath, [...execArgv, '.start/bin/matchcast.js'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'inherit'] })
  const exited = once(child, 'exit')
  // Read until it listens; what it prints after that (warnings) is read and dropped, so the pipe never fills.
  let out: string | undefined = ''
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      if (out === undefined) return
      out += chunk.toString()
      const found = /listening on http:\/\/[\d.]+:(\d+)/.exec(out)
      if (found === null) return
      out = undefined
      resolve(Number(found[1]))
    })
    exited.then(() => reject(new Error('the demo server exited before it listened')), reject)
  })
  // Never outlive the bench that started it.
  const orphan = () => child.kill('SIGKILL')
  process.once('exit', orphan)
  exited.then(() => process.off('exit', orphan), () => {})
  return { child, pid: child.pid!, port, exited, stop: stopper(child, exited, () => child.kill('SIGTERM')) }
}

/** Forks `file` (a bench/ module, run through tsx) and waits for its `ready` message. */
export async function startChild (file: string, env: NodeJS.ProcessEnv = process.env, execArgv: string[] = []): Promise<Child> {
  const child = fork(fileURLToPath(new URL(file, import.meta.url)), [], {
    execArgv: [...execArgv, '--import', 'tsx'],
    env,
    stdio: ['ignore', 'ignore', 'inherit', 'ipc']
  })
  const exited = once(child, 'exit')
  const ready = await Promise.race([once(child, 'message'), exited.then(() => { throw new Error(`${file} exited before it was ready`) })]) as [{ port: number }]
  return {
    child,
    pid: child.pid!,
    port: ready[0].port,
    exited,
    stop: stopper(child, exited, () => child.send('stop'))
  }
}

export interface Generator { pid: number, sockets: number, run (request: Omit<RunRequest, 'type'>): Promise<StepResult[]>, stop (): Promise<void> }

/** Forks the load generator and opens its sockets (`init`). */
export async function startGenerator (init: Omit<LoadInit, 'type' | 'secret' | 'organizer'>): Promise<Generator> {
  const child = fork(fileURLToPath(new URL('./load.ts', import.meta.url)), [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  const exited = once(child, 'exit')
  const ask = async (message?: object): Promise<Record<string, unknown>> => {
    if (message !== undefined) child.send(message)
    const [answer] = await Promise.race([once(child, 'message'), exited.then(() => { throw new Error('the load generator exited') })]) as [Record<string, unknown>]
    if (answer.type === 'failed') throw new Error(`load generator: ${String(answer.message)}`)
    return answer
  }
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return
    child.send({ type: 'close' })
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
    await exited
    clearTimeout(timer)
  }
  try {
    await ask()
    const connected = await ask({ type: 'init', secret: SECRET, organizer: ORGANIZER, ...init })
    return {
      pid: child.pid!,
      sockets: connected.sockets as number,
      run: async (request) => (await ask({ type: 'run', ...request })).steps as StepResult[],
      stop
    }
  } catch (err) {
    await stop()
    throw err
  }
}
