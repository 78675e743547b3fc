/**
 * matchcast/client figures: the SDK's browser bundle size (minified, gzipped), and a reconnect
 * storm: 1,000 SDK clients live on instance A, A shuts down (1001), and they resume on instance B
 * (one Redis; each instance its own process) while a participant keeps publishing: time until each is live again, and
 * events lost or duplicated. The clients use the SDK's default back-off. Figures, not assertions.
 */
import { fork } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'
import { build } from 'esbuild'
import WebSocket from 'ws'
import { connect, type MatchcastClient, type MatchEvent } from '../client/index.js'
import { Client, token } from '../test/helper.js'
import { startRedis, summarize, type Summary } from './util.js'

const CLIENTS = Number(process.env.STORM_CLIENTS ?? 1000)
/** The participant's pace during the storm: 20 events a second reach every client. */
const PUBLISH_EVERY_MS = 50

export async function bundleSize (): Promise<{ minified: number, gzipped: number }> {
  const result = await build({
    entryPoints: [new URL('../client/index.ts', import.meta.url).pathname],
    bundle: true,
    platform: 'browser',
    format: 'esm',
    minify: true,
    write: false,
    logLevel: 'silent'
  })
  const code = result.outputFiles[0]!.contents
  return { minified: code.length, gzipped: gzipSync(code, { level: 9 }).length }
}

interface Instance { port: number, request (message: string): Promise<Record<string, unknown>>, kill (): void, exited: Promise<unknown> }

/** One instance in its own process (bench/storm-server.ts). */
async function instance (redis: string, keyPrefix: string): Promise<Instance> {
  const child = fork(fileURLToPath(new URL('./storm-server.ts', import.meta.url)), [redis, keyPrefix, String(CLIENTS)], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'ignore', 'inherit', 'ipc']
  })
  const exited = once(child, 'exit')
  const [ready] = await once(child, 'message') as [{ port: number }]
  const request = async (message: string) => {
    child.send(message)
    const [answer] = await once(child, 'message') as [Record<string, unknown>]
    return answer
  }
  return { port: ready.port, request, kill: () => child.kill('SIGKILL'), exited }
}

interface Storm {
  clients: number
  liveAgainMs: Summary
  lastLiveMs: number
  events: number
  /** Events a client neither received nor got in a resync snapshot. */
  lost: number
  duplicated: number
  /** Clients that got a resync snapshot instead of some events (the server could not replay them). */
  resynced: number
}

async function until (predicate: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`the storm did not settle in time: ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

/** What one SDK client saw. */
interface Seen { events: MatchEvent[], snapshots: number[], down?: number, up?: number }

async function storm (log: (line: string) => void): Promise<Storm> {
  const redis = await startRedis()
  if (redis === undefined) throw new Error('redis-server is not available')
  const prefix = `bench-storm-${process.pid}`
  const instances: Instance[] = []
  const clients: MatchcastClient[] = []
  let player: Client | undefined
  try {
    const a = await instance(redis.url, prefix)
    instances.push(a)
    const b = await instance(redis.url, prefix)
    instances.push(b)
    // A load balancer: each new socket goes to the instance that is up.
    let target = a.port
    class Routed extends WebSocket {
      constructor (url: string, protocols: string[]) {
        super(url.replace(/:\d+\//, `:${target}/`), protocols)
      }
    }
    const jwt = token('u-fan')
    const seen: Seen[] = []
    let live = 0
    for (let i = 0; i < CLIENTS; i++) {
      const c = connect({ url: `ws://127.0.0.1:${a.port}`, token: () => jwt, WebSocket: Routed })
      clients.push(c)
      const room = c.match('m2')
      const mine: Seen = { events: [], snapshots: [] }
      seen.push(mine)
      room.on('snapshot', (snapshot) => mine.snapshots.push(snapshot.seq))
      room.on('event', (event) => mine.events.push(event))
      room.on('status', (status) => {
        if (status === 'live') live++
        if (status === 'reconnecting') mine.down = performance.now()
        if (status === 'live' && mine.down !== undefined) mine.up = performance.now()
      })
    }
    await until(() => live === CLIENTS, 120_000, 'clients live on A')
    log(`  ${CLIENTS} clients live on A`)
    player = new Client(`ws://127.0.0.1:${b.port}/ws/matches/m2`, { headers: { authorization: `Bearer ${token('u-b')}` } })
    await player.next()
    let published = 0
    const publishing = { on: true }
    const publish = (async () => {
      while (publishing.on) {
        player.send({ type: 'result.report', id: ++published, scores: { 'u-b': published } })
        await new Promise((resolve) => setTimeout(resolve, PUBLISH_EVERY_MS))
      }
    })()
    await new Promise((resolve) => setTimeout(resolve, 200))
    target = b.port
    const stopped = performance.now()
    await a.request('stop')
    await until(() => seen.every((c) => c.up !== undefined), 120_000, 'clients live again on B')
    await new Promise((resolve) => setTimeout(resolve, 200))
    publishing.on = false
    await publish
    const at = (c: Seen) => Math.max(c.events.at(-1)?.seq ?? 0, c.snapshots.at(-1)!)
    // The last command sent may not be sequenced yet when publishing stops: the head is read again
    // until every client stands on it.
    let lastSeq = 0
    const settled = Date.now() + 60_000
    for (;;) {
      lastSeq = (await b.request('position')).seq as number
      if (seen.every((c) => at(c) === lastSeq)) break
      if (Date.now() > settled) {
        const short = seen.filter((c) => at(c) !== lastSeq)
        throw new Error(`the storm did not settle in time: head ${lastSeq}, ${short.length} clients elsewhere (e.g. at ${short.slice(0, 5).map((c) => at(c)).join(', ')})`)
      }
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    let lost = 0
    let duplicated = 0
    for (const c of seen) {
      const seqs = c.events.map((e) => e.seq)
      duplicated += seqs.length - new Set(seqs).size
      const covered = new Set(seqs)
      const [first, ...resyncs] = c.snapshots
      for (let seq = first! + 1; seq <= lastSeq; seq++) {
        if (!covered.has(seq) && !resyncs.some((snapshotSeq) => snapshotSeq >= seq)) lost++
      }
    }
    return {
      clients: CLIENTS,
      liveAgainMs: summarize(seen.map((c) => c.up! - stopped)),
      lastLiveMs: Math.round(Math.max(...seen.map((c) => c.up!)) - stopped),
      events: lastSeq,
      lost,
      duplicated,
      resynced: seen.filter((c) => c.snapshots.length > 1).length
    }
  } finally {
    for (const c of clients) c.close()
    await player?.close()
    for (const i of instances) i.kill()
    await Promise.all(instances.map((i) => i.exited))
    await redis.stop()
  }
}

export async function benchClient (log: (line: string) => void): Promise<{ data: unknown, markdown: string[] }> {
  const bundle = await bundleSize()
  log(`  bundle: ${bundle.minified} B minified, ${bundle.gzipped} B gzipped`)
  const result = await storm(log)
  log(`  storm: ${result.clients} clients live again after p50 ${result.liveAgainMs.p50} ms, p99 ${result.liveAgainMs.p99} ms; ` +
    `lost ${result.lost}, duplicated ${result.duplicated}, resynced ${result.resynced}`)
  return {
    data: { bundle, storm: result },
    markdown: [
      '## matchcast/client',
      '',
      `Browser bundle (esbuild, minified): **${bundle.minified} B**, **${bundle.gzipped} B gzipped** (target: under 6 KB gzipped).`,
      '',
      `Reconnect storm: ${result.clients} SDK clients live on instance A; A shuts down (1001) while a participant publishes an event every ${PUBLISH_EVERY_MS} ms; ` +
      'the clients resume on instance B (one Redis; each instance in its own process, the clients in a third) with the default back-off (500 ms–20 s, full jitter).',
      '',
      'Live again: from the shutdown request to each client\'s `live`. Lost: events a client neither received nor got in a resync snapshot; ' +
      'resynced: clients the server sent a resync snapshot (it could not replay their events), counted apart.',
      '',
      '| clients | live again p50 ms | p95 ms | p99 ms | last one ms | events | lost | duplicated | resynced |',
      '|---|---|---|---|---|---|---|---|---|',
      `| ${result.clients} | ${result.liveAgainMs.p50} | ${result.liveAgainMs.p95} | ${result.liveAgainMs.p99} | ${result.lastLiveMs} | ${result.events} | ${result.lost} | ${result.duplicated} | ${result.resynced} |`
    ]
  }
}
