/** The figures of the fixed-rate fan-out bench (bench/fixed-rate.ts), and their markdown. */

export interface FixedSummary {
  workload: string
  server: string
  commandsPerSecond: number
  deliveriesPerSecond: number
  /** Median over the rounds of server CPU µs ÷ deliveries. */
  usPerDelivery: number
  usPerDeliveryRuns: number[]
  ratioToBare: number
  /** redis-server's CPU µs per delivery (Redis variant only). */
  redisUsPerDelivery: number | undefined
  serverCpuPercent: number
  generatorCpuPercent: number
  p50Ms: number
  p99Ms: number
  /** Summed over the rounds. */
  lost: number
  gaps: number
  resyncs: number
  unseen: number
  closed: number
  errors: number
}

export interface ModelSummary {
  server: string
  usPerDelivery: number
  usPerCommand: number
  perDeliveryRatio: number | undefined
  perCommandRatio: number | undefined
  rounds: Array<{ usPerDelivery: number, usPerCommand: number }>
}

export interface RampSummary {
  workload: string
  server: string
  maxDeliveriesPerSecond: number | undefined
  /** Commands per second per match of that step. */
  atRate: number | undefined
  serverCpuPercent: number | undefined
  generatorCpuPercent: number | undefined
  ratioToBare?: number
  failedAt: { rate: number, why: string } | undefined
  steps: Array<{ rate: number, ok: boolean, deliveriesPerSecond: number, p99Ms: number, why: string }>
}

export interface FixedRateData {
  rate: number
  rounds: number
  fixed: { warmupMs: number, windowMs: number, drainMs: number }
  ramp: { warmupMs: number, windowMs: number, drainMs: number, factors: number[], bisections: number }
  p99LimitMs: number
  batchWindowMs: number
  redis: boolean
  summary: FixedSummary[]
  model: ModelSummary[]
  ramps: RampSummary[]
  rss: Array<{ server: string, processes: number, startMb: number, endMb: number }>
  /** The machine's 1-minute load average when the section started and ended. */
  loadAverage: { start: number, end: number }
  seconds: number
}

const dash = (v: number | string | undefined) => v === undefined ? '—' : String(v)

export function render (data: FixedRateData): string[] {
  const md = [
    '## Fixed-rate fan-out (servers and load generator in their own processes)',
    '',
    `Each match gets ${data.rate} \`score.update\`s a second from an organizer's socket, batching window ${data.batchWindowMs} ms. ` +
    'Servers: the matchcast demo server as `npm start` runs it (`node .start/bin/matchcast.js`, the JavaScript bundle of scripts/prestart.mjs; memory store); two of them on one private redis-server (watchers spread over both, ' +
    'commands to the first; the CPU figure is both instances\', redis-server\'s is shown apart); and a bare `ws` server (bench/bare-server.ts: ' +
    'each event serialized once, the same bytes to every socket of the match, a `bufferedAmount` check and nothing else: no auth, store or validation). ' +
    `Server CPU: utime + stime of /proc/<pid>/stat over a ${data.fixed.windowMs} ms window after ${data.fixed.warmupMs} ms at the rate, ` +
    'divided by the event frames the server sent in the same window by its own count (`matchcast_frames_sent_total` of /metrics, which the bare ' +
    'server imitates; read just outside the window), so a server that falls behind is neither flattered nor blamed. ' +
    'Latency: command sent → event received on each socket, on the load generator\'s one clock. The organizer\'s socket receives every event too: ' +
    `1,001 and 11 receivers per event. The runs are interleaved (bare, memory, Redis; ${data.rounds} rounds) and each figure is the median of its rounds; ` +
    'lost, seq gaps, resyncs and unseen are summed over the rounds. Lost: receipts still missing when the drain ends ' +
    `(once each match's last update is on every socket, or ${data.fixed.drainMs} ms after the window); unseen: updates no socket got ` +
    '(superseded by the next one — latest wins — or still queued).',
    '',
    '| workload | server | commands/s | deliveries/s | **µs server CPU per delivery** | ÷ bare | rounds (µs) | redis-server µs/delivery | server CPU % | generator CPU % | p50 ms | p99 ms | lost | seq gaps | resyncs | unseen |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|'
  ]
  for (const s of data.summary) {
    md.push(`| ${s.workload} | ${s.server} | ${s.commandsPerSecond} | ${s.deliveriesPerSecond} | **${s.usPerDelivery}** | ${s.ratioToBare}× | ${s.usPerDeliveryRuns.join(', ')} | ` +
      `${dash(s.redisUsPerDelivery)} | ${s.serverCpuPercent} | ${s.generatorCpuPercent} | ${s.p50Ms} | ${s.p99Ms} | ${s.lost} | ${s.gaps} | ${s.resyncs} | ${s.unseen} |`)
  }
  const refused = data.summary.filter((s) => s.closed + s.errors > 0)
  if (refused.length > 0) md.push('', `Closed sockets or error replies: ${refused.map((s) => `${s.workload}, ${s.server}: ${s.closed} closed, ${s.errors} errors`).join('; ')}.`)
  md.push('', '**Per delivery and per command.** Each round\'s two workloads give two equations, cpu = deliveries × a + commands × b: ' +
    '1 × 1000 is almost all fan-out (1,001 deliveries per command), 100 × 10 has 100 times the commands for about the same deliveries (11 per command). ' +
    'Deliveries and commands are the event frames and acks the servers sent in the CPU window. ' +
    'Solved per round for a (µs per delivery: the fan-out) and b (µs per command: parsing, checks, store, sequencing, the ack, everything but the sends); ' +
    'medians of the rounds. It takes a delivery to cost the same in both shapes, and charges idle work to both.', '',
  '| server | µs per delivery | ÷ bare | µs per command | ÷ bare | rounds (delivery / command µs) |', '|---|---|---|---|---|---|')
  for (const m of data.model) {
    const ratio = (r: number | undefined) => r === undefined ? '—' : `${r}×`
    md.push(`| ${m.server} | ${m.usPerDelivery} | ${ratio(m.perDeliveryRatio)} | ${m.usPerCommand} | ${ratio(m.perCommandRatio)} | ${m.rounds.map((r) => `${r.usPerDelivery} / ${r.usPerCommand}`).join('; ')} |`)
  }
  md.push('', `**Max sustained.** The rate per match is stepped up (${data.rate} × ${data.ramp.factors.join(', ')}; ${data.ramp.windowMs} ms windows after ` +
    `${data.ramp.warmupMs} ms) until a step fails twice in a row (the machine is noisy) — p99 over ${data.p99LimitMs} ms, or anything lost, unseen, skipped ` +
    `(seq gap, resync), refused or closed — then the gap between the last rate that held and the first that failed is halved (geometric mean) up to ${data.ramp.bisections} times; one search per server and ` +
    `workload, and none for one that did not keep up at ${data.rate}/s in most rounds. ` +
    'On 2 cores the generator, which receives every delivery, runs out of CPU about when the server does: the ceiling is the machine\'s, ' +
    'the ratio is what compares.', '',
  '| workload | server | max sustained deliveries/s | at commands/s per match | ÷ bare | server CPU % | generator CPU % | first failed step |',
  '|---|---|---|---|---|---|---|---|')
  for (const r of data.ramps) {
    md.push(`| ${r.workload} | ${r.server} | ${dash(r.maxDeliveriesPerSecond)} | ${dash(r.atRate)} | ${r.ratioToBare === undefined ? '—' : `${r.ratioToBare}×`} | ` +
      `${dash(r.serverCpuPercent)} | ${dash(r.generatorCpuPercent)} | ${r.failedAt === undefined ? 'none' : `${r.failedAt.rate}/s: ${r.failedAt.why}`} |`)
  }
  md.push('', '| server | processes | RSS after start MB | RSS after the run MB (sockets still open) |', '|---|---|---|---|')
  for (const r of data.rss) md.push(`| ${r.server} | ${r.processes} | ${r.startMb} | ${r.endMb} |`)
  if (!data.redis) md.push('', 'redis-server could not be started: no Redis rows.')
  md.push('', `Section time: ${data.seconds} s; 1-minute load average ${data.loadAverage.start} at its start, ${data.loadAverage.end} at its end.`)
  return md
}
