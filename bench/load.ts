/**
 * The load generator of the fixed-rate fan-out bench, in a process of its own (the servers under
 * test run in theirs). `init` opens the workloads' sockets: per match, one organizer's command
 * socket on the first port and the watchers spread over every port. Each `run` then sends
 * `score.update` to every match of a workload at a fixed rate, for each rate in turn: a warm-up,
 * a measured window, a drain with nothing sent. Every event is timed from its command's send to
 * its receipt on each socket; both ends are in this process, so on one clock. Counted per window:
 * lost deliveries, seq gaps, resync snapshots, closed sockets, error replies, and updates no
 * socket ever received (superseded: latest wins, or still queued). The servers' CPU time is read
 * from /proc/<pid>/stat at the edges of the measured window.
 */
import { createSigner } from 'fast-jwt'
import WebSocket from 'ws'
import type { LoadInit, RunRequest, StepResult } from './load-protocol.js'
import { cpuMs, pool, summarize } from './util.js'

interface Step { latencies: number[], deliveries: number, acked: number, errors: number, gaps: number, resyncs: number, closed: number, maxLag: number, commands: number, firstError?: string }
interface Sent { at: number, step: Step | undefined, received: number }
interface Match { id: string, command: WebSocket, next: number, sent: Map<number, Sent>, receivers: number }
interface Sock { match: Match, lastSeq: number }

/** A drain is over when nothing has arrived for this long. */
const QUIET_MS = 250
const SEQ = Buffer.from('"seq":')
const SCORE = Buffer.from('"p1":')
const workloads = new Map<string, Match[]>()
const sockets: WebSocket[] = []
let active: Step | undefined
let counterUrls: string[] = []
let lastReceipt = 0
let stopping = false

function readInt (buf: Buffer, at: number): number {
  let n = 0
  for (let i = at; i < buf.length; i++) {
    const c = buf[i]!
    if (c < 48 || c > 57) break
    n = n * 10 + c - 48
  }
  return n
}

/** One frame on `sock`: the scan reads only what the counts need, to keep the generator cheap. */
function receive (sock: Sock, buf: Buffer): void {
  const now = performance.now()
  lastReceipt = now
  const head = buf.toString('latin1', 0, 18)
  if (head.startsWith('{"type":"snapshot"')) {
    if (active !== undefined) active.resyncs++
    sock.lastSeq = readInt(buf, buf.indexOf(SEQ) + SEQ.length)
    return
  }
  if (head.startsWith('{"type":"ack"')) {
    if (active !== undefined) active.acked++
    return
  }
  if (head.startsWith('{"type":"error"')) {
    if (active !== undefined) {
      active.errors++
      active.firstError ??= buf.toString()
    }
    return
  }
  // An event, or a batch of them: each `"seq":` is followed by its update's score.
  let at = buf.indexOf(SEQ)
  while (at >= 0) {
    const seq = readInt(buf, at + SEQ.length)
    const score = buf.indexOf(SCORE, at)
    if (score < 0) break
    if (seq !== sock.lastSeq + 1 && active !== undefined) active.gaps++
    sock.lastSeq = seq
    const sent = sock.match.sent.get(readInt(buf, score + SCORE.length))
    if (sent !== undefined) {
      sent.received++
      if (sent.step !== undefined) {
        sent.step.deliveries++
        sent.step.latencies.push(now - sent.at)
      }
    }
    at = buf.indexOf(SEQ, score)
  }
}

async function open (url: string, token: string, match: Match): Promise<WebSocket> {
  const ws = new WebSocket(url, { headers: { authorization: `Bearer ${token}` }, perMessageDeflate: false, skipUTF8Validation: true })
  sockets.push(ws)
  const sock: Sock = { match, lastSeq: 0 }
  // An error is followed by a close, which is what gets counted.
  ws.on('error', () => {})
  await new Promise<void>((resolve, reject) => {
    ws.once('message', (data: Buffer) => {
      sock.lastSeq = readInt(data, data.indexOf(SEQ) + SEQ.length)
      ws.on('message', (frame: Buffer) => receive(sock, frame))
      resolve()
    })
    ws.once('error', reject)
    ws.once('close', (code) => reject(new Error(`socket closed ${code} before its snapshot (${url})`)))
  })
  ws.on('close', () => { if (!stopping && active !== undefined) active.closed++ })
  return ws
}

async function init (message: LoadInit): Promise<number> {
  const sign = createSigner({ key: message.secret, expiresIn: 3_600_000 })
  const organizer = sign({ sub: message.organizer })
  const opens: Array<() => Promise<unknown>> = []
  for (const w of message.workloads) {
    const matches: Match[] = []
    w.matches.forEach((id, m) => {
      const match: Match = { id, command: undefined as unknown as WebSocket, next: 1, sent: new Map(), receivers: w.socketsPerMatch + 1 }
      matches.push(match)
      opens.push(async () => { match.command = await open(`ws://127.0.0.1:${message.commandPort}/ws/matches/${id}`, organizer, match) })
      for (let i = 0; i < w.socketsPerMatch; i++) {
        const n = m * w.socketsPerMatch + i
        const port = message.ports[n % message.ports.length]!
        opens.push(() => open(`ws://127.0.0.1:${port}/ws/matches/${id}`, sign({ sub: `${w.userPrefix}${n}` }), match))
      }
    })
    workloads.set(w.name, matches)
  }
  await pool(opens, 50, (fn) => fn().then(() => {}))
  return sockets.length
}

function send (match: Match, step: Step | undefined): void {
  const value = match.next++
  match.sent.set(value, { at: performance.now(), step, received: 0 })
  match.command.send(`{"type":"score.update","id":${value},"scores":{"p1":${value}}}`)
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

const COUNTER = /^matchcast_frames_sent_total\{type="(\w+)"\} (\d+)$/gm
/** Event frames (one per socket per event, or per batch) and acks the servers have sent so far, from their /metrics. */
async function framesSent (): Promise<{ events: number, acks: number }> {
  const totals = { events: 0, acks: 0 }
  for (const text of await Promise.all(counterUrls.map(async (url) => (await fetch(url)).text()))) {
    for (const [, type, count] of text.matchAll(COUNTER)) {
      if (type === 'ack') totals.acks += Number(count)
      else if (type === 'score_updated' || type === 'batch') totals.events += Number(count)
    }
  }
  return totals
}

/** Sends `rate` commands per second to each match for `ms`, evenly spread; resolves when `ms` is up. */
async function drive (matches: Match[], rate: number, ms: number, step: Step | undefined): Promise<void> {
  const perMs = (matches.length * rate) / 1000
  const count = Math.round(perMs * ms)
  const t0 = performance.now()
  let sent = 0
  while (sent < count) {
    const now = performance.now()
    const due = Math.min(count, Math.floor((now - t0) * perMs) + 1)
    for (; sent < due; sent++) {
      if (step !== undefined) {
        step.maxLag = Math.max(step.maxLag, now - (t0 + sent / perMs))
        step.commands++
      }
      send(matches[sent % matches.length]!, step)
    }
    await sleep(Math.max(1, Math.min(50, (sent / perMs) - (performance.now() - t0))))
  }
  const left = t0 + ms - performance.now()
  if (left > 0) await sleep(left)
}

function evaluate (request: RunRequest, rate: number, matches: Match[], step: Step, cpu: number[], generatorCpuMs: number, sent: { events: number, acks: number }): StepResult {
  let events = 0
  let unseen = 0
  let lost = 0
  for (const match of matches) {
    for (const update of match.sent.values()) {
      if (update.step !== step) continue
      if (update.received === 0) unseen++
      else {
        events++
        lost += Math.max(0, match.receivers - update.received)
      }
    }
  }
  const latencyMs = summarize(step.latencies)
  const ok = latencyMs.p99 <= request.p99LimitMs && lost === 0 && unseen === 0 && step.gaps === 0 && step.resyncs === 0 && step.closed === 0 && step.errors === 0
  return {
    rate,
    matches: matches.length,
    receivers: matches[0]!.receivers,
    windowMs: request.windowMs,
    commands: step.commands,
    acked: step.acked,
    errors: step.errors,
    events,
    unseen,
    deliveries: step.deliveries,
    deliveriesPerSecond: Math.round(step.deliveries / (request.windowMs / 1000)),
    serverDeliveries: sent.events,
    serverAcks: sent.acks,
    lost,
    gaps: step.gaps,
    resyncs: step.resyncs,
    closed: step.closed,
    latencyMs,
    maxLagMs: Math.round(step.maxLag * 100) / 100,
    cpuMs: cpu,
    generatorCpuMs,
    ok,
    ...(step.firstError !== undefined && { firstError: step.firstError.slice(0, 200) })
  }
}

/** One measured window at `rate`: warm-up, window, then the drain. */
async function window (request: RunRequest, matches: Match[], rate: number, pids: number[]): Promise<StepResult> {
  await drive(matches, rate, request.warmupMs, undefined)
  const step: Step = { latencies: [], deliveries: 0, acked: 0, errors: 0, gaps: 0, resyncs: 0, closed: 0, maxLag: 0, commands: 0 }
  active = step
  const sent0 = await framesSent()
  const cpu0 = pids.map(cpuMs)
  const own0 = process.cpuUsage()
  await drive(matches, rate, request.windowMs, step)
  const cpu = pids.map((pid, i) => cpuMs(pid) - cpu0[i]!)
  const own = process.cpuUsage(own0)
  const sent1 = await framesSent()
  const sent = { events: sent1.events - sent0.events, acks: sent1.acks - sent0.acks }
  // The drain ends when every receipt is in, or nothing has arrived for a while, or at `drainMs`.
  // Events of a match arrive in order, and the last update of each is never superseded: once it
  // is on every socket, all that will ever arrive has.
  const last = matches.map((m) => m.sent.get(m.next - 1))
  const deadline = performance.now() + request.drainMs
  while (matches.some((m, i) => (last[i]?.received ?? Infinity) < m.receivers) && performance.now() < deadline) await sleep(10)
  const result = evaluate(request, rate, matches, step, cpu, Math.round((own.user + own.system) / 1000), sent)
  active = undefined
  // A window that fell behind may leave a backlog: let it drain before anything else is measured.
  if (!result.ok) {
    const until = performance.now() + 3000
    while (performance.now() - lastReceipt < QUIET_MS && performance.now() < until) await sleep(50)
  }
  for (const match of matches) match.sent.clear()
  return result
}

async function run (request: RunRequest, pids: number[]): Promise<StepResult[]> {
  const matches = workloads.get(request.workload)!
  const results: StepResult[] = []
  for (const rate of request.rates) {
    let result = await window(request, matches, rate, pids)
    results.push(result)
    // The machine is noisy: a failed window is tried once more before it counts.
    if (!result.ok && request.retryFailed) results.push(result = await window(request, matches, rate, pids))
    if (!result.ok && request.stopOnFail) break
  }
  return results
}

let pids: number[] = []
process.on('message', (message: LoadInit | RunRequest | { type: 'close' }) => {
  if (message.type === 'init') {
    pids = message.pids
    counterUrls = message.ports.map((port) => `http://127.0.0.1:${port}/metrics`)
    const started = performance.now()
    init(message).then((count) => process.send!({ type: 'connected', sockets: count, ms: Math.round(performance.now() - started) }),
      (err: Error) => process.send!({ type: 'failed', message: err.message }))
  } else if (message.type === 'run') {
    run(message, pids).then((steps) => process.send!({ type: 'result', steps }), (err: Error) => process.send!({ type: 'failed', message: err.message }))
  } else {
    stopping = true
    for (const ws of sockets) ws.terminate()
    process.exit(0)
  }
})
// Never outlive the bench that started it.
process.on('disconnect', () => process.exit(1))
process.send!({ type: 'up' })
