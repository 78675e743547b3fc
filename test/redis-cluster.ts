/**
 * A real Redis Cluster for tests: 3 primaries and 3 replicas, each a `redis-server` on a free
 * loopback port with a short `cluster-node-timeout`, made a cluster by `redis-cli --cluster create`.
 * Started once per test file (it takes about two seconds); suites isolate themselves with
 * `uniquePrefix()`. Fault helpers break the real thing: `CLUSTER FAILOVER`, kill -9 of a primary,
 * `redis-cli --cluster reshard`.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { Redis } from 'ioredis'
import type { TapLike } from './helper.js'
import { freePort } from './redis.js'

const run = promisify(execFile)
/** Short, so a killed primary's replica takes over within a few seconds. */
export const NODE_TIMEOUT_MS = 1000

export interface ClusterNodeProcess {
  port: number
  /** Kills the server with SIGKILL and resolves once it has exited. */
  kill (): Promise<void>
  /** Starts it again on the same port and config (it rejoins the cluster, as a replica if it was failed over). */
  restart (): Promise<void>
  readonly alive: boolean
}

export interface RedisCluster {
  nodes: ClusterNodeProcess[]
  /** Where clients start: every node's host and port. */
  startupNodes: Array<{ host: string, port: number }>
  /** Runs one command on the node at `port` over a short-lived connection. */
  command (port: number, ...args: Array<string | number>): Promise<unknown>
  /** The port of the primary that serves `slot` now (asked of a live node). */
  primaryOf (slot: number): Promise<number>
  /** A replica of the primary at `port`. */
  replicaOf (port: number): Promise<number>
  /** `CLUSTER FAILOVER` on a replica of `primaryPort`; resolves once the replica serves as primary. Returns its port. */
  failover (primaryPort: number): Promise<number>
  /** Kills the primary at `port` (SIGKILL); resolves once its replica serves its slots. Returns the new primary's port. */
  killPrimary (port: number): Promise<number>
  /** Moves `count` slots from the primary at `from` to the one at `to` with `redis-cli --cluster reshard`. */
  reshard (from: number, to: number, count: number): Promise<void>
  /** Resolves once every node that is alive says `cluster_state:ok` and agrees on one slot map. */
  healthy (ms?: number): Promise<void>
}

async function accepting (port: number, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms
  for (;;) {
    try {
      await run('redis-cli', ['-p', String(port), 'ping'])
      return
    } catch {
      if (Date.now() > deadline) throw new Error(`redis-server on ${port} did not start within ${ms} ms`)
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  }
}

async function ask (port: number, ...args: Array<string | number>): Promise<unknown> {
  const conn = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null })
  conn.on('error', () => {})
  try {
    await conn.connect()
    return await conn.call(String(args[0]), ...args.slice(1))
  } finally {
    conn.disconnect()
  }
}

interface NodeLine { id: string, port: number, flags: string[], primaryId: string, slots: string[] }

function parseNodes (text: string): NodeLine[] {
  return text.trim().split('\n').map((line) => {
    const [id, address, flags, primaryId, , , , , ...slots] = line.split(' ')
    return { id: id!, port: Number(address!.split('@')[0]!.split(':')[1]), flags: flags!.split(','), primaryId: primaryId!, slots }
  })
}

/** Starts a 3 × 2 cluster for this file; every process is killed and its files removed at teardown. */
export async function startCluster (t: TapLike): Promise<RedisCluster> {
  const dir = await mkdtemp(join(tmpdir(), 'matchcast-cluster-'))
  const children = new Map<number, ChildProcess>()
  const launch = async (port: number) => {
    const child = spawn('redis-server', [
      '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
      '--cluster-enabled', 'yes', '--cluster-config-file', join(dir, `nodes-${port}.conf`),
      '--cluster-node-timeout', String(NODE_TIMEOUT_MS), '--cluster-replica-validity-factor', '0',
      '--dir', dir, '--logfile', join(dir, `${port}.log`)
    ], { stdio: 'ignore' })
    children.set(port, child)
    await accepting(port)
  }
  const kill = async (port: number) => {
    const child = children.get(port)
    children.delete(port)
    if (child === undefined || child.exitCode !== null) return
    const exited = once(child, 'exit')
    child.kill('SIGKILL')
    await exited
  }
  t.teardown(async () => {
    await Promise.all([...children.keys()].map(kill))
    await rm(dir, { recursive: true, force: true })
  })
  const ports: number[] = []
  // Six distinct ports (freePort may hand out one twice before anything listens on it).
  while (ports.length < 6) {
    const port = await freePort()
    if (!ports.includes(port)) ports.push(port)
  }
  await Promise.all(ports.map(launch))
  await run('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '1', '--cluster-yes'])

  const nodesOf = async (): Promise<NodeLine[]> => {
    for (const port of ports) {
      if (!children.has(port)) continue
      try {
        return parseNodes(await ask(port, 'CLUSTER', 'NODES') as string)
      } catch {}
    }
    throw new Error('no node of the cluster answers')
  }
  const primaryOf = async (slot: number): Promise<number> => {
    const alive = [...children.keys()][0]!
    const shards = await ask(alive, 'CLUSTER', 'SLOTS') as Array<[number, number, [string, number]]>
    const range = shards.find(([from, to]) => slot >= from && slot <= to)
    if (range === undefined) throw new Error(`slot ${slot} is not served`)
    return range[2][1]
  }
  const replicaOf = async (port: number): Promise<number> => {
    const nodes = await nodesOf()
    const primary = nodes.find((n) => n.port === port)!
    const replica = nodes.find((n) => n.primaryId === primary.id && !n.flags.includes('fail') && children.has(n.port))
    if (replica === undefined) throw new Error(`the primary on ${port} has no live replica`)
    return replica.port
  }
  const healthy = async (ms = 15_000): Promise<void> => {
    const deadline = Date.now() + ms
    for (;;) {
      try {
        const states = await Promise.all([...children.keys()].map(async (port) => {
          const info = await ask(port, 'CLUSTER', 'INFO') as string
          const slots = JSON.stringify((await ask(port, 'CLUSTER', 'SLOTS') as Array<[number, number, [string, number]]>)
            .map(([from, to, [, primary]]) => [from, to, primary]).sort((a, b) => a[0]! - b[0]!))
          return { ok: info.includes('cluster_state:ok'), slots }
        }))
        if (states.every((s) => s.ok) && new Set(states.map((s) => s.slots)).size === 1) return
      } catch {}
      if (Date.now() > deadline) throw new Error(`the cluster did not settle within ${ms} ms`)
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }
  /** Resolves once `port` is a primary that every live node knows as one. */
  const promoted = async (port: number): Promise<void> => {
    const deadline = Date.now() + 20_000
    for (;;) {
      const nodes = await nodesOf().catch(() => [])
      if (nodes.find((n) => n.port === port)?.flags.includes('master') === true) break
      if (Date.now() > deadline) throw new Error(`${port} was not promoted`)
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    await healthy()
  }
  await healthy()
  return {
    nodes: ports.map((port) => ({
      port,
      kill: () => kill(port),
      restart: () => launch(port),
      get alive () { return children.has(port) }
    })),
    startupNodes: ports.map((port) => ({ host: '127.0.0.1', port })),
    command: ask,
    primaryOf,
    replicaOf,
    async failover (primaryPort) {
      const replica = await replicaOf(primaryPort)
      await ask(replica, 'CLUSTER', 'FAILOVER')
      await promoted(replica)
      return replica
    },
    async killPrimary (port) {
      const replica = await replicaOf(port)
      await kill(port)
      await promoted(replica)
      return replica
    },
    async reshard (from, to, count) {
      const nodes = await nodesOf()
      const id = (port: number) => nodes.find((n) => n.port === port)!.id
      await run('redis-cli', ['--cluster', 'reshard', `127.0.0.1:${from}`, '--cluster-from', id(from), '--cluster-to', id(to),
        '--cluster-slots', String(count), '--cluster-yes', '--cluster-pipeline', '100'])
      await healthy()
    },
    healthy
  }
}
