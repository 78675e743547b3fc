/**
 * `npm run bench`: every figure of the product's targets, printed and written to
 * bench/results/latest.json and bench/results/latest.md. Figures, never pass/fail.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { cpus } from 'node:os'
import { fileURLToPath } from 'node:url'
import { benchFanout } from './fanout.js'
import { benchMemory } from './memory.js'

const log = (line: string) => process.stdout.write(`${line}\n`)
const started = Date.now()
const report: Record<string, unknown> = {
  date: new Date().toISOString(),
  node: process.version,
  cpus: cpus().length,
  cpu: cpus()[0]?.model
}
/** Seconds each section took, so the bench's own budget (5 minutes) can be kept. */
const sections: Record<string, number> = {}
const md: string[] = ['# matchcast benchmark', '', `${String(report.date)} · Node ${process.version} · ${cpus().length} × ${String(report.cpu)}`, '']

log('fan-out …')
let sectionStarted = Date.now()
const fanout = await benchFanout(log)
sections['fan-out'] = Math.round((Date.now() - sectionStarted) / 1000)
report.fanout = fanout
md.push('## Fan-out (batching window 0 ms; each row the median-throughput run of 3)', '', '| scenario | transport | sockets | events | deliveries/s | p50 ms | p95 ms | p99 ms |', '|---|---|---|---|---|---|---|---|')
for (const r of fanout.results) md.push(`| ${r.scenario} | ${r.transport} | ${r.sockets} | ${r.events} | ${r.deliveriesPerSecond} | ${r.latencyMs.p50} | ${r.latencyMs.p95} | ${r.latencyMs.p99} |`)
md.push('', '| scenario | transport | bare-loop throughput ÷ matchcast throughput | matchcast p50 ÷ bare p50 |', '|---|---|---|---|')
for (const r of fanout.ratios) md.push(`| ${r.scenario} | ${r.transport} | ${r.throughputRatio}× | ${r.p50Ratio}× |`)

log('memory per idle connection …')
sectionStarted = Date.now()
const memory = await benchMemory()
sections.memory = Math.round((Date.now() - sectionStarted) / 1000)
report.memory = memory
log(`  ${memory.bytesPerConnectionHeap} B heap, ${memory.bytesPerConnectionRss} B RSS per idle connection (${memory.connections} connections)`)
md.push('', '## Memory per idle connection', '', `${memory.connections} idle connections: **${memory.bytesPerConnectionHeap} B** of heap and ${memory.bytesPerConnectionRss} B of RSS each (server process only).`)

// Further sections, each in its own module; one that is missing or fails is reported, not fatal.
for (const [name, file, fn] of [['limiter', './limiter.js', 'benchLimiter'], ['http', './http.js', 'benchHttp'], ['client', './client.js', 'benchClient'], ['commands', './commands.js', 'benchCommands'], ['cluster', './cluster.js', 'benchCluster'], ['rss', './rss.js', 'benchRss'], ['fixed-rate', './fixed-rate.js', 'benchFixedRate']] as const) {
  const path = fileURLToPath(new URL(file.replace('.js', '.ts'), import.meta.url))
  if (!existsSync(path)) continue
  log(`${name} …`)
  sectionStarted = Date.now()
  try {
    const mod = await import(file) as Record<string, (log: (line: string) => void) => Promise<{ data: unknown, markdown: string[] }>>
    const { data, markdown } = await mod[fn]!(log)
    report[name] = data
    md.push('', ...markdown)
  } catch (err) {
    log(`  ${name} failed: ${(err as Error).message}`)
    report[name] = { error: (err as Error).message }
  }
  sections[name] = Math.round((Date.now() - sectionStarted) / 1000)
  log(`  (${sections[name]} s)`)
}

report.seconds = Math.round((Date.now() - started) / 1000)
report.sectionSeconds = sections
md.push('', `Total bench time: ${String(report.seconds)} s (${Object.entries(sections).map(([name, s]) => `${name} ${s}`).join(', ')}).`)
const dir = fileURLToPath(new URL('./results/', import.meta.url))
mkdirSync(dir, { recursive: true })
writeFileSync(`${dir}latest.json`, `${JSON.stringify(report, null, 2)}\n`)
writeFileSync(`${dir}latest.md`, `${md.join('\n')}\n`)
log('')
log(md.join('\n'))
log('\nwritten: bench/results/latest.json, bench/results/latest.md')
process.exit(0)
