/**
 * The demo server's resident memory: VmRSS of its node process (from /proc) after start, after the
 * first certificate PDF and after the docs page, for each way it is run: `npm start` (the sources
 * stripped to JavaScript by scripts/prestart.mjs) and the built package
 * (`dist/`, built first when missing); a bare `ws` server and a bare Fastify one for reference.
 * Then whole process trees (npm and launchers included), and what the start holds, import by
 * import. Figures, not assertions: each the median of RUNS starts, on the demo seed with m1 live
 * (so the bench can finalize it and download its certificate).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Seed } from '../schemas/common.js'
import { DEMO_SEED_PATH, DEV_SECRET, demoToken } from '../server.js'

const ROOT = fileURLToPath(new URL('../', import.meta.url))
const RUNS = Number(process.env.RSS_RUNS ?? 3)
/** After /healthz answers, and after each step: what it set going (timers, first flushes) has settled. */
const SETTLE_MS = 500

/** VmRSS of a process, in MiB (0 when it is gone). */
function rssOf (pid: number): number {
  try {
    return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024
  } catch {
    return 0
  }
}

/** A process and all its descendants, summed. */
function treeRss (pid: number): number {
  const children = new Map<number, number[]>()
  for (const entry of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      const ppid = Number(readFileSync(`/proc/${entry}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ')[1])
      children.set(ppid, [...children.get(ppid) ?? [], Number(entry)])
    } catch {} // gone meanwhile
  }
  const sum = (p: number): number => rssOf(p) + (children.get(p) ?? []).reduce((s, c) => s + sum(c), 0)
  return sum(pid)
}

const round = (mib: number) => Math.round(mib * 10) / 10
const median = (values: number[]) => round([...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!)
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

interface Running { child: ChildProcess, base: string }

/**
 * Starts `command` in the repository, in a process group of its own (so stopping it stops what it
 * launched), and resolves once it prints where it listens and, for the demo server, /healthz answers.
 */
async function start (command: string, args: string[], env: Record<string, string>, health = true): Promise<Running> {
  const child = spawn(command, args, {
    cwd: ROOT,
    detached: true,
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', MATCHCAST_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'inherit']
  })
  let out = ''
  const base = await new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString()
      const found = /listening on (http:\/\/[\d.]+:\d+)/.exec(out)
      if (found !== null) resolve(found[1]!)
    })
    child.once('exit', (code) => reject(new Error(`${command} ${args.join(' ')} exited (${code}) before listening`)))
  })
  for (let i = 0; i < (health ? 100 : 0); i++) {
    if ((await fetch(`${base}/healthz`).catch(() => undefined))?.ok === true) break
    await sleep(50)
  }
  await sleep(SETTLE_MS)
  return { child, base }
}

async function stop ({ child }: Running): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise((resolve) => child.once('exit', resolve))
  process.kill(-child.pid!, 'SIGKILL')
  await exited
}

/** The first certificate: m1 finalized, then its PDF downloaded. */
async function downloadPdf (base: string): Promise<void> {
  const headers = { authorization: `Bearer ${demoToken({ options: { auth: { secret: DEV_SECRET } } }, 'u-org')}`, 'content-type': 'application/json' }
  const finalized = await fetch(`${base}/matches/m1/finalize`, { method: 'POST', headers, body: JSON.stringify({ scores: { 'u-a': 2, 'u-b': 1 } }) })
  const { certificate } = await finalized.json() as { certificate: { id: string } }
  const pdf = await fetch(`${base}/certificates/${certificate.id}/download`, { headers })
  if (pdf.headers.get('content-type') !== 'application/pdf') throw new Error(`PDF download answered ${pdf.status}`)
  await pdf.arrayBuffer()
}

/** The docs as a browser opens them: the page, the scripts and styles it names, the OpenAPI document. */
async function openDocs (base: string): Promise<void> {
  const page = await (await fetch(`${base}/docs/`)).text()
  const assets = [...page.matchAll(/(?:src|href)="\.\/(static\/[^"]+)"/g)].map((m) => `${base}/docs/${m[1]!}`)
  for (const url of [...assets, `${base}/docs/json`]) await (await fetch(url)).arrayBuffer()
}

export interface RssRow { way: string, command: string, startMiB: number, afterPdfMiB: number, afterDocsMiB: number }

/** One way of running the demo server: RSS after start, after the first PDF, after the docs (medians). */
async function measure (way: string, args: string[], seed: string): Promise<RssRow> {
  const samples: number[][] = []
  for (let i = 0; i < RUNS; i++) {
    const running = await start(process.execPath, args, { MATCHCAST_SEED: seed })
    try {
      const sample = [rssOf(running.child.pid!)]
      await downloadPdf(running.base)
      await sleep(SETTLE_MS)
      sample.push(rssOf(running.child.pid!))
      await openDocs(running.base)
      await sleep(SETTLE_MS)
      samples.push([...sample, rssOf(running.child.pid!)])
    } finally {
      await stop(running)
    }
  }
  const at = (i: number) => median(samples.map((s) => s[i]!))
  return { way, command: `node ${args.join(' ')}`, startMiB: at(0), afterPdfMiB: at(1), afterDocsMiB: at(2) }
}

/** References, each once listening (median): a bare `ws` server (the floor) and a bare Fastify server with one route. */
const REFERENCES = {
  ws: 'const { WebSocketServer } = require("ws"); const wss = new WebSocketServer({ port: 0, host: "127.0.0.1" }, () => console.log("listening on http://127.0.0.1:" + wss.address().port))',
  fastify: 'const app = require("fastify")(); app.get("/", async () => "ok"); app.listen({ port: 0, host: "127.0.0.1" }).then((url) => console.log("listening on " + url))'
}

async function reference (script: string): Promise<number> {
  const values: number[] = []
  for (let i = 0; i < RUNS; i++) {
    const running = await start(process.execPath, ['-e', script], {}, false)
    values.push(rssOf(running.child.pid!))
    await stop(running)
  }
  return median(values)
}

/** Every process a start command leaves running, summed: npm and launchers too (median). */
async function tree (command: string, args: string[], seed: string): Promise<number> {
  const values: number[] = []
  for (let i = 0; i < RUNS; i++) {
    const running = await start(command, args, { MATCHCAST_SEED: seed })
    values.push(treeRss(running.child.pid!))
    await stop(running)
  }
  return median(values)
}

/**
 * Imports in start order, as the built package (`dist/`) loads them from node_modules, then what
 * the first uses load; run with a 1 MiB young generation so each step shows what it keeps.
 */
const STEPS: Array<[string, string[]]> = [
  ['fastify', ['fastify']],
  ['typebox', ['typebox', 'typebox/compile', 'typebox/value']],
  ['@fastify/jwt, fast-jwt', ['@fastify/jwt', 'fast-jwt']],
  ['ws, @fastify/websocket', ['ws', '@fastify/websocket']],
  ['prom-client, @fastify/rate-limit', ['prom-client', '@fastify/rate-limit']],
  ['@fastify/swagger, @fastify/swagger-ui, @fastify/static, yaml', ['@fastify/swagger', '@fastify/swagger-ui', '@fastify/static', 'yaml']],
  ['matchcast\'s own modules', ['./dist/server.js']],
  ['the app built and listening', ['@build']],
  ['first PDF: pdfkit, fontkit, uqr', ['pdfkit', 'fontkit', 'uqr']],
  ['first date printed: ICU date data', ['@intl']],
  ['first PostgreSQL store: pg', ['pg']],
  ['first start with Redis: ioredis, @fastify/redis', ['ioredis', '@fastify/redis']]
]
const BREAKDOWN = `import { readFileSync } from 'node:fs'
const rss = () => Number(/VmRSS:\\s+(\\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))[1]) / 1024
const rows = [['Node.js', rss()]]
for (const [name, imports] of ${JSON.stringify(STEPS)}) {
  const before = rss()
  for (const spec of imports) {
    if (spec === '@build') {
      const { loadConfig, createServer } = await import('./dist/server.js')
      const app = await createServer(loadConfig({ MATCHCAST_LOG_LEVEL: 'warn' }), false)
      await app.listen({ port: 0, host: '127.0.0.1' })
      await new Promise((resolve) => setTimeout(resolve, ${SETTLE_MS}))
    } else if (spec === '@intl') new Intl.DateTimeFormat('en-GB', { month: 'long', timeZone: 'UTC' }).format(new Date())
    else await import(spec)
  }
  rows.push([name, rss() - before])
}
console.log(JSON.stringify(rows))
process.exit(0)`

/** What each step of the start (and of the first uses) adds, in MiB (medians). */
function breakdown (): Array<{ step: string, mib: number }> {
  const runs: Array<Array<[string, number]>> = []
  for (let i = 0; i < RUNS; i++) {
    const result = spawnSync(process.execPath, ['--max-semi-space-size=1', '--input-type=module', '-e', BREAKDOWN], { cwd: ROOT, encoding: 'utf8' })
    if (result.status !== 0) throw new Error(`breakdown: ${result.stderr}`)
    runs.push(JSON.parse(result.stdout) as Array<[string, number]>)
  }
  return runs[0]!.map(([step], i) => ({ step, mib: median(runs.map((r) => r[i]![1])) }))
}

export async function benchRss (log: (line: string) => void): Promise<{ data: unknown, markdown: string[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'matchcast-rss-'))
  try {
    const seedData = JSON.parse(readFileSync(DEMO_SEED_PATH, 'utf8')) as Seed
    for (const m of seedData.matches) if (m.id === 'm1') m.state = 'live'
    const seed = join(dir, 'seed.json')
    writeFileSync(seed, JSON.stringify(seedData))
    if (spawnSync(process.execPath, ['scripts/prestart.mjs'], { cwd: ROOT, stdio: 'inherit' }).status !== 0) throw new Error('scripts/prestart.mjs failed')
    let built = existsSync(join(ROOT, 'dist/bin/matchcast.js'))
    if (!built) {
      log('  building dist/ (npm run build) …')
      built = spawnSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: 'inherit' }).status === 0
    }
    const rows: RssRow[] = []
    for (const [way, args] of [['npm start', ['.start/bin/matchcast.js']],
      ...(built ? [['built package', ['dist/bin/matchcast.js']]] : [])] as Array<[string, string[]]>) {
      log(`  ${way} …`)
      rows.push(await measure(way, args, seed))
    }
    const ws = await reference(REFERENCES.ws)
    const fastify = await reference(REFERENCES.fastify)
    log('  process trees …')
    const trees = { npmStart: await tree('npm', ['start', '--silent'], seed) }
    log('  breakdown …')
    const steps = built ? breakdown() : []
    const kept = round(steps.slice(0, steps.findIndex((s) => s.step.startsWith('first'))).reduce((sum, s) => sum + s.mib, 0))
    const markdown = ['## Demo server memory (RSS)', '',
      `VmRSS of the server's node process, median of ${RUNS} starts; each column after the one before it (first PDF: m1 finalized and its certificate downloaded; docs: the page, its scripts and /docs/json).`, '',
      '| run as | after start MiB | after first PDF MiB | after docs MiB |', '|---|---|---|---|',
      ...rows.map((r) => `| ${r.way} (\`${r.command}\`) | ${r.startMiB} | ${r.afterPdfMiB} | ${r.afterDocsMiB} |`),
      `| bare \`ws\` server (reference) | ${ws} | | |`, `| bare Fastify, one route (reference) | ${fastify} | | |`, '',
      `Every process of the command, after start: \`npm start\` (npm, sh, node) ${trees.npmStart} MiB.`, '',
      '`npm start` runs one bundle (scripts/prestart.mjs: the bin with the packages it loads at start, only the parts it uses, ' +
      'whitespace removed; what loads on first use stays in node_modules). The built package loads each module of each package ' +
      'from node_modules, as a host app does.', '',
      'What a start of the built package keeps, step by step (one process, young generation capped at 1 MiB so growth of it is not charged to a step; the last four are loaded only by their first use):', '',
      '| step | + MiB |', '|---|---|', ...steps.map((s) => `| ${s.step} | ${s.mib} |`), '',
      `The built package's steps sum to ${kept} MiB; the rest of its ${rows.at(-1)!.startMiB} MiB after start is mostly V8's young generation, ` +
      'grown while the start allocates (up to 2 × 16 MiB on Node 20) and not given back while the server idles.']
    return { data: { runs: RUNS, rows, bareWsMiB: ws, bareFastifyMiB: fastify, trees, breakdown: steps, startKeptMiB: kept }, markdown }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
