/** Small helpers shared by the benchmarks: percentiles, free ports, a private redis-server. */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import { connect } from 'node:net'
import { freePort } from '../test/redis.js'

export interface Summary { n: number, p50: number, p95: number, p99: number, mean: number }

/** Percentiles of `values` (milliseconds), rounded to 0.01. */
export function summarize (values: number[]): Summary {
  const sorted = [...values].sort((a, b) => a - b)
  const at = (q: number) => sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!
  const round = (v: number) => Math.round(v * 100) / 100
  const mean = sorted.reduce((s, v) => s + v, 0) / Math.max(1, sorted.length)
  return { n: sorted.length, p50: round(at(0.5)), p95: round(at(0.95)), p99: round(at(0.99)), mean: round(mean) }
}

export interface BenchRedis { url: string, pid: number, stop (): Promise<void> }

/** A private redis-server on a free loopback port, or `undefined` when none can be started. */
export async function startRedis (): Promise<BenchRedis | undefined> {
  const port = await freePort()
  let child: ChildProcess
  try {
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' })
  } catch {
    return undefined
  }
  const failed = once(child, 'error').then(() => false)
  const deadline = Date.now() + 5000
  for (;;) {
    const ok = await Promise.race([failed, new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1', () => { s.end(); resolve(true) })
      s.on('error', () => resolve(false))
    })])
    if (ok) break
    if (child.exitCode !== null || Date.now() > deadline) return undefined
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    pid: child.pid!,
    async stop () {
      const exited = once(child, 'exit')
      child.kill('SIGKILL')
      await exited
    }
  }
}

/** Runs `fn` with `count` as its concurrency limit over `items`. */
export async function pool<T> (items: T[], count: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0
  await Promise.all(Array.from({ length: count }, async () => {
    while (next < items.length) await fn(items[next++]!)
  }))
}

/** Clock ticks per second of /proc's CPU times (`getconf CLK_TCK`; 100 when it cannot be asked). */
export const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100
  } catch {
    return 100
  }
})()

/** CPU time (user + system, all threads) process `pid` has used so far, in ms, from /proc/<pid>/stat. */
export function cpuMs (pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  // The command name (field 2) may hold spaces: fields are counted after its closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS
}

/** Resident memory of process `pid` in bytes (VmRSS of /proc/<pid>/status). */
export function rssBytes (pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return match === null ? 0 : Number(match[1]) * 1024
}
