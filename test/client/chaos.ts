/**
 * The chaos scenario of the SDK tests: a loopback TCP proxy between the SDK and the server cuts
 * each connection after a random number of bytes (mid-frame as often as not) while an organizer,
 * connected directly, publishes 1,000 score updates in bursts of ten. With each burst the SDK (a
 * participant of the match) sends one of its 100 result reports through the same chaos. With several instances the proxy sends each new
 * connection to the next one.
 *
 * It checks that the SDK emitted exactly the server's event sequence (what a client connected
 * directly received: no gap, no duplicate) and that every report it sent was applied exactly once
 * (one `result_reported` event per acked report, none for a refused one).
 */
import type { Test } from 'tap'
import type { MatchSnapshotFrame } from '../../client/index.js'
import { as, client, reply, type TestApp } from '../helper.js'
import { TcpProxy } from '../proxy.js'
import { sdk, watch } from './helper.js'

export const UPDATES = 1000
export const REPORTS = 100

/** Options that keep the limits out of the way of a flood of reconnects and commands. */
export const CHAOS_OPTIONS = {
  batching: { windowMs: 0 },
  history: { size: 10_000 },
  rateLimit: { maxConnectionsPerUser: 10_000, messagesPerSecond: 1_000_000, burst: 1_000_000, upgradesPerIp: 0 }
}

/** mulberry32: a small seeded PRNG, so a failing run can be replayed with its seed. */
function random (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6D2B79F5) >>> 0
    let x = Math.imul(a ^ (a >>> 15), 1 | a)
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
}

type Frame = { type: string, seq?: number, events?: Frame[], data?: { by?: string, scores?: Record<string, number> } }

export async function chaos (t: Test, instances: TestApp[]): Promise<void> {
  const seed = Number(process.env.CHAOS_SEED ?? Date.now() % 1_000_000)
  const rng = random(seed)
  t.comment(`chaos seed ${seed} (CHAOS_SEED=${seed} replays it)`)
  const ports = instances.map(({ wsUrl }) => Number(new URL(wsUrl).port))
  let calm = false
  const proxy: TcpProxy = new TcpProxy({
    target: (): number => ports[proxy.connections % ports.length]!,
    budget: () => (calm ? Infinity : 200 + Math.floor(rng() * 6000))
  })
  const url = await proxy.listen(t)

  // Every time an instance is asked to run one of the SDK's reports (first sends and resends alike).
  let runs = 0
  for (const { app } of instances) {
    const ids = app.matchcast.commandIds
    const run = ids.run.bind(ids)
    ids.run = async (...args: Parameters<typeof run>) => {
      if (args[2].type === 'result.report') runs++
      return run(...args)
    }
  }

  const org = client(t, instances[0]!.wsUrl, '/ws/matches/m1', as('u-org'))
  const reference = client(t, instances[instances.length - 1]!.wsUrl, '/ws/matches/m1', as('u-fan'))
  await Promise.all([org.next(), reference.next()])
  org.send({ type: 'match.start', id: 'start' })
  t.same(await reply(org, 5000), { type: 'ack', id: 'start' })

  const room = sdk(t, url, 'u-a').match('m1')
  const log = watch<MatchSnapshotFrame>(room)
  await log.status('live', 5000)

  // Each report until it is applied: a `conflict` (another instance changed the match between read
  // and write: nothing applied) is answered as the protocol says, with a new command.
  const outcomes = new Map<number, 'acked'>()
  let conflicts = 0
  const report = async (value: number): Promise<void> => {
    for (;;) {
      try {
        await room.send({ type: 'result.report', scores: { 'u-a': value } })
        outcomes.set(value, 'acked')
        return
      } catch (err) {
        if ((err as { code?: string }).code !== 'conflict') throw err
        conflicts++
      }
    }
  }
  // Bursts of 10 updates and one report, each once the SDK is connected, so the cuts fall all along.
  const reports: Array<Promise<void>> = []
  for (let burst = 0; burst < REPORTS; burst++) {
    await log.status('live', 5000)
    for (let i = 1; i <= UPDATES / REPORTS; i++) org.send({ type: 'score.update', id: i, scores: { 'u-a': burst * 10 + i } })
    reports.push(report(burst + 1))
    for (let i = 1; i <= UPDATES / REPORTS; i++) await reply(org, 10_000)
  }
  // The chaos ends: the next connection is not cut.
  calm = true
  proxy.cutAll()
  await Promise.all(reports)
  org.send({ type: 'score.update', id: 'last', scores: { 'u-a': UPDATES + 1 } })
  t.same(await reply(org, 5000), { type: 'ack', id: 'last' })

  const received = (frames: unknown[]) => (frames as Frame[]).flatMap((f) => (f.type === 'batch' ? f.events! : [f]))
    .filter((f) => typeof f.seq === 'number' && f.type !== 'snapshot')
  const last = () => received(reference.frames).at(-1)
  await reference.ping()
  await log.until(() => last()?.type === 'score_updated' && last()?.data?.scores?.['u-a'] === UPDATES + 1, 10_000)
  await log.until(() => log.events.at(-1)?.seq === last()!.seq, 15_000)

  const expected = received(reference.frames)
  t.same(expected.map((e) => e.seq), expected.map((_, i) => i + 1), 'the server sequence is contiguous')
  // The SDK joined after the match started: its snapshot reflects what came before.
  const joinedAt = log.snapshots[0]!.seq
  t.same(log.events, expected.filter((e) => e.seq! > joinedAt), `the SDK emitted exactly the server sequence after its snapshot (seq ${joinedAt})`)
  const applied = new Map<number, number>()
  for (const e of expected) {
    if (e.type === 'result_reported' && e.data!.by === 'u-a') applied.set(e.data!.scores!['u-a']!, (applied.get(e.data!.scores!['u-a']!) ?? 0) + 1)
  }
  t.equal(outcomes.size, REPORTS, 'every report acked')
  t.same([...applied.entries()].filter(([, n]) => n !== 1), [], 'no report applied twice')
  t.same([...outcomes.keys()].filter((v) => applied.get(v) !== 1), [], 'every acked report applied')
  t.equal(log.snapshots.length, 1, 'every reconnect resumed')
  t.ok(proxy.cuts >= 5, 'the chaos cut connections')
  t.comment(`chaos (${instances.length} instance${instances.length > 1 ? 's' : ''}): ${expected.length} events, ` +
    `${proxy.cuts} cuts, ${proxy.connections} SDK connections, ${outcomes.size} reports acked and applied once, ` +
    `${conflicts} conflicts retried, ${runs - outcomes.size - conflicts} resent reports answered with the remembered reply, ` +
    `${log.snapshots.length - 1} resyncs, 0 gaps, 0 duplicates`)
}
