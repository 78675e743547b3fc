/**
 * Child-process matchcast instances for the kill tests (`test/instance.ts`): started for real,
 * killed for real. The script is bundled once per test process (esbuild, its packages included), so
 * each of the many starts loads one file of plain JavaScript: no TypeScript to compile, no module
 * graph to resolve (a start costs a third of the CPU it does with the packages left external).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { rm } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import type { TapLike } from './helper.js'

let bundled: Promise<string> | undefined

/**
 * `test/instance.ts` as one ES module under `.artifacts/instance/<pid>/`: three levels below the
 * package root, where the Lua scripts are found as from `dist/` (lib/lua.ts), with `node_modules`
 * above it. Removed when the test process exits.
 */
function bundle (): Promise<string> {
  bundled ??= (async () => {
    const dir = fileURLToPath(new URL(`../.artifacts/instance/${process.pid}/`, import.meta.url))
    const outfile = `${dir}instance.mjs`
    await build({
      entryPoints: [fileURLToPath(new URL('./instance.ts', import.meta.url))],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      outfile,
      // These two serve files that lie beside their code: they load from node_modules.
      external: ['@fastify/swagger', '@fastify/swagger-ui'],
      // The packages' CommonJS code calls require() for Node's built-ins; ioredis names __dirname
      // (to trim its error stacks), which an ES module has to be given.
      banner: {
        js: "import { createRequire as __cjsRequire } from 'node:module'; import { fileURLToPath as __toPath } from 'node:url';\n" +
          'const require = __cjsRequire(import.meta.url); const __filename = __toPath(import.meta.url); const __dirname = __toPath(new URL(".", import.meta.url));'
      },
      logLevel: 'error'
    })
    process.once('beforeExit', () => { rm(dir, { recursive: true, force: true }).catch(() => {}) })
    return outfile
  })()
  return bundled
}

export interface Instance {
  port: number
  /** `ws://127.0.0.1:<port>` */
  wsUrl: string
  /** `http://127.0.0.1:<port>` */
  httpUrl: string
  child: ChildProcess
  /** Resolves with the signal (or exit code) once the process has exited. */
  exited: Promise<string>
  /** SIGKILL (no goodbye to anyone); resolves once it has exited. */
  kill (): Promise<string>
}

export interface InstanceEnv {
  DATABASE_URL: string
  MATCHCAST_TEST_SCHEMA: string
  REDIS_URL: string
  MATCHCAST_KEY_PREFIX: string
  MATCHCAST_TEST_OPTIONS?: string
  MATCHCAST_TEST_FAULT?: string
}

/** Starts an instance; resolves once it listens. Killed at teardown if still running. */
export async function spawnInstance (t: TapLike, env: InstanceEnv, startMs = 60_000): Promise<Instance> {
  // A clean environment: not tap's loaders and coverage hooks, which would slow every start.
  const child = spawn(process.execPath, [await bundle()], {
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  const exited = once(child, 'exit').then(([code, signal]) => String(signal ?? code))
  const kill = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    return exited
  }
  t.teardown(kill)
  let stderr = ''
  child.stderr!.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
  const port = await new Promise<number>((resolve, reject) => {
    let stdout = ''
    const timer = setTimeout(() => reject(new Error(`instance did not start within ${startMs} ms: ${stderr}`)), startMs)
    child.stdout!.on('data', (chunk: Buffer) => {
      stdout += chunk.toString()
      const found = /listening (\d+)/.exec(stdout)
      if (found === null) return
      clearTimeout(timer)
      resolve(Number(found[1]))
    })
    exited.then((how) => {
      clearTimeout(timer)
      reject(new Error(`instance exited (${how}) before listening: ${stderr}`))
    }, () => {})
  })
  return { port, wsUrl: `ws://127.0.0.1:${port}`, httpUrl: `http://127.0.0.1:${port}`, child, exited, kill }
}
