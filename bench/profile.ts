/**
 * Where matchcast's CPU goes under the fixed-rate fan-out: `npx tsx bench/profile.ts [label] [seconds] [workload]`.
 * Starts the demo server as `npm start` runs it (bench/processes.ts `startDemo`; memory store,
 * batching window 0) under `node --cpu-prof`, drives 100 matches × 10 sockets (workload 2, the
 * default; 1 is 1 match × 1000 sockets) at RATE score updates per second per match from the
 * load generator (bench/load.ts) for `seconds` (default 10), closes the server so the profile is
 * written, and keeps the samples of the steady window only (startup and connections left out). Writes the top frames by self time, and the time by area (project folder or
 * package), to bench/results/profile-<label>.md and .json (label default `latest`).
 */
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { SourceMap } from 'node:module'
import { cpus, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { RATE } from './fixed-rate.js'
import { matchcastEnv, startDemo, startGenerator, WORKLOADS, writeSeed, type Child } from './processes.js'

const TOP = 15
const label = process.argv[2] ?? 'latest'
const seconds = Number(process.argv[3] ?? 10)
/** `1`: 1 match × 1000 sockets (fan-out); `2` (default): 100 matches × 10 sockets (commands). */
const shape = Number(process.argv[4] ?? 2)
if (!/^[\w-]+$/.test(label) || !(seconds > 0) || WORKLOADS[shape - 1] === undefined) throw new Error('usage: npx tsx bench/profile.ts [label] [seconds] [workload 1|2]')
const ROOT = fileURLToPath(new URL('../', import.meta.url))
const workload = WORKLOADS[shape - 1]!

interface CallFrame { functionName: string, url: string, lineNumber: number, columnNumber: number }
interface CpuProfile { nodes: Array<{ id: number, callFrame: CallFrame }>, startTime: number, endTime: number, samples: number[], timeDeltas: number[] }
interface Frame { function: string, location: string, area: string, selfMs: number, percent: number, percentOfBusy: number }

/**
 * The monotonic clock in µs: the time base of a `.cpuprofile`'s samples (V8 and Node.js both read
 * CLOCK_MONOTONIC, the same in every process of the machine).
 */
const clock = (): number => Number(process.hrtime.bigint() / 1000n)

/**
 * The bundle's source maps (scripts/prestart.mjs writes one beside each file of `.start/bin/`), by
 * the file URL a profile names: a position in the bundle is mapped back to its TypeScript line, or
 * to the package file it came from.
 */
function bundleSourceMaps (): Map<string, SourceMap> {
  const dir = join(ROOT, '.start/bin')
  const maps = new Map<string, SourceMap>()
  for (const name of readdirSync(dir)) {
    if (!name.endsWith('.js.map')) continue
    const map = JSON.parse(readFileSync(join(dir, name), 'utf8')) as { sources: string[] }
    // Sources are relative to the map's folder: made absolute, so they read as repository paths.
    map.sources = map.sources.map((source) => join(dir, source))
    maps.set(`file://${join(dir, name.slice(0, -'.map'.length))}`, new SourceMap(map as never))
  }
  return maps
}

function location (frame: CallFrame, maps: Map<string, SourceMap>): { file: string, line: number, area: string } {
  let url = frame.url.replace(/^file:\/\//, '')
  let line = frame.lineNumber + 1
  if (url === '') return { file: '', line, area: frame.functionName.startsWith('(') ? frame.functionName : '(native)' }
  if (url.startsWith('node:')) return { file: url, line, area: 'node internals' }
  const original = maps.get(frame.url)?.findEntry(frame.lineNumber, frame.columnNumber) as { originalSource?: string, originalLine?: number } | undefined
  if (original?.originalSource !== undefined && original.originalLine !== undefined) {
    url = original.originalSource
    line = original.originalLine + 1
  }
  const local = url.startsWith(ROOT) ? url.slice(ROOT.length) : url
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(local)
  if (pkg !== null) return { file: local.slice(local.lastIndexOf('node_modules/') + 'node_modules/'.length), line, area: pkg[1]! }
  const parts = local.split('/')
  return { file: local, line, area: parts.length > 2 ? parts.slice(0, 2).join('/') : parts[0]! }
}

/** Self time per frame (function, file, line) over [from, to] (µs on the profile's clock). */
function selfTimes (profile: CpuProfile, from: number, to: number): { frames: Frame[], areas: Array<{ area: string, selfMs: number, percent: number }>, windowMs: number, idleMs: number } {
  const byId = new Map(profile.nodes.map((n) => [n.id, n.callFrame]))
  const self = new Map<string, { frame: CallFrame, us: number }>()
  let t = profile.startTime
  let total = 0
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i]!
    // A sample stands for the time until the next one.
    const us = profile.timeDeltas[i + 1] ?? 0
    if (t < from || t > to) continue
    const frame = byId.get(profile.samples[i]!)!
    const key = `${frame.functionName}\u0000${frame.url}\u0000${frame.lineNumber}\u0000${frame.columnNumber}`
    const entry = self.get(key) ?? { frame, us: 0 }
    entry.us += us
    self.set(key, entry)
    total += us
  }
  const idle = [...self.values()].filter((e) => e.frame.functionName === '(idle)').reduce((s, e) => s + e.us, 0)
  const busy = Math.max(1, total - idle)
  const round = (v: number) => Math.round(v * 10) / 10
  const maps = bundleSourceMaps()
  const frames = [...self.values()].sort((a, b) => b.us - a.us).map(({ frame, us }) => {
    const { file, line, area } = location(frame, maps)
    return {
      function: frame.functionName === '' ? '(anonymous)' : frame.functionName,
      location: file === '' ? '' : `${file}:${line}`,
      area,
      selfMs: round(us / 1000),
      percent: round((us / Math.max(1, total)) * 100),
      percentOfBusy: frame.functionName === '(idle)' ? 0 : round((us / busy) * 100)
    }
  })
  const areas = new Map<string, number>()
  for (const f of frames) if (f.function !== '(idle)') areas.set(f.area, (areas.get(f.area) ?? 0) + f.selfMs)
  return {
    frames,
    areas: [...areas].sort((a, b) => b[1] - a[1]).map(([area, ms]) => ({ area, selfMs: round(ms), percent: round((ms * 1000 / busy) * 100) })),
    windowMs: round(total / 1000),
    idleMs: round(idle / 1000)
  }
}

const dir = mkdtempSync(join(tmpdir(), 'matchcast-profile-'))
const seedPath = join(dir, 'seed.json')
writeSeed(seedPath, [workload])
let server: Child | undefined
let generator: Awaited<ReturnType<typeof startGenerator>> | undefined
try {
  server = await startDemo(matchcastEnv(seedPath), ['--cpu-prof', '--cpu-prof-dir', dir])
  generator = await startGenerator({ ports: [server.port], commandPort: server.port, workloads: [workload], pids: [server.pid] })
  const request = { workload: workload.name, rates: [RATE], warmupMs: 0, drainMs: 1000, stopOnFail: false, retryFailed: false, p99LimitMs: 100 }
  // Warm the JIT first, so the window shows the steady state.
  await generator.run({ ...request, windowMs: 1000 })
  const from = clock()
  const [step] = await generator.run({ ...request, windowMs: seconds * 1000 })
  const to = clock()
  await generator.stop()
  await server.stop()
  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'))
  if (file === undefined) throw new Error('the server wrote no .cpuprofile')
  const profile = JSON.parse(readFileSync(join(dir, file), 'utf8')) as CpuProfile
  if (from < profile.startTime || to > profile.endTime) throw new Error('the steady window is not on the profile\'s clock')
  const times = selfTimes(profile, from, to)
  const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim()
  const data = {
    label,
    date: new Date().toISOString(),
    node: process.version,
    cpus: cpus().length,
    commit,
    workload: workload.name,
    commandsPerSecondPerMatch: RATE,
    serverCpuMs: step!.cpuMs[0],
    deliveries: step!.serverDeliveries,
    usPerDelivery: Math.round((step!.cpuMs[0]! * 1000 / Math.max(1, step!.serverDeliveries)) * 100) / 100,
    latencyMs: step!.latencyMs,
    lost: step!.lost,
    unseen: step!.unseen,
    windowMs: times.windowMs,
    idleMs: times.idleMs,
    top: times.frames.slice(0, TOP),
    areas: times.areas
  }
  const md = [
    `# CPU profile of the matchcast demo server: ${label}`, '',
    `${data.date} · Node ${data.node} · ${data.cpus} CPUs · commit ${commit}`, '',
    `\`npx tsx bench/profile.ts ${label} ${seconds} ${shape}\`: the demo server as \`npm start\` runs it (the bundle of scripts/prestart.mjs; memory store, batching window 0) under \`node --cpu-prof\`, positions mapped back through its source maps, ` +
    `${workload.name} at ${RATE} \`score.update\`s a second per match (${RATE * workload.matches.length} commands/s), ` +
    `one organizer socket per match; only the samples of the ${seconds} s steady window (after 1 s of warm-up; startup and connections left out).`, '',
    `Server CPU in the window: ${data.serverCpuMs} ms for ${data.deliveries} deliveries (${data.usPerDelivery} µs each); ` +
    `latency p50 ${data.latencyMs.p50} ms, p99 ${data.latencyMs.p99} ms; lost ${data.lost}, unseen ${data.unseen}. ` +
    `Profiled window ${data.windowMs} ms, of which idle ${data.idleMs} ms.`, '',
    `## Top ${TOP} frames by self time`, '',
    '| # | function | file:line | self ms | % of window | % of busy |', '|---|---|---|---|---|---|',
    ...data.top.map((f, i) => `| ${i + 1} | \`${f.function}\` | ${f.location === '' ? '—' : `\`${f.location}\``} | ${f.selfMs} | ${f.percent} | ${f.function === '(idle)' ? '—' : f.percentOfBusy} |`),
    '', '## Self time by area (idle left out)', '',
    '| area | self ms | % of busy |', '|---|---|---|',
    ...data.areas.slice(0, TOP).map((a) => `| ${a.area} | ${a.selfMs} | ${a.percent} |`)
  ]
  const out = fileURLToPath(new URL('./results/', import.meta.url))
  mkdirSync(out, { recursive: true })
  writeFileSync(join(out, `profile-${label}.json`), `${JSON.stringify(data, null, 2)}\n`)
  writeFileSync(join(out, `profile-${label}.md`), `${md.join('\n')}\n`)
  process.stdout.write(`${md.join('\n')}\n\nwritten: bench/results/profile-${label}.md, bench/results/profile-${label}.json\n`)
} finally {
  await generator?.stop()
  await server?.stop()
  rmSync(dir, { recursive: true, force: true })
}
