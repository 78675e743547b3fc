/**
 * Kill tests of the outbox (real PostgreSQL, real Redis, real processes): child-process instances
 * (`test/instance.ts`) are killed with SIGKILL at randomized points of a command's path (commit →
 * ack → batch window → publish → mark done, or by this process at a random moment), while a
 * surviving instance keeps serving rooms, and often commits the next change before recovery is
 * done. Afterwards every client has received every acked command's event exactly once, in seq
 * order, or a resync snapshot that holds it; nothing is lost.
 *
 * The victims' commands are `result.report`s (events that are never coalesced, so each one must
 * arrive on its own); the survivor's are `score.update`s (coalesced with each other, checked by
 * every client's final state). `MATCHCAST_KILL_ROUNDS` sets the number of kills (default 50).
 */
import t from 'tap'
import WebSocket from 'ws'
import { postgresStore, type Seed } from '../index.js'
import { Client, as, startApp, token } from './helper.js'
import { DATABASE_URL, pgStore } from './postgres.js'
import { startRedis, uniquePrefix } from './redis.js'
import { spawnInstance, type Instance, type InstanceEnv } from './spawn.js'

const KILLS = Number(process.env.MATCHCAST_KILL_ROUNDS ?? 50)
/** Victims alive at once, each on its own match: their starts overlap the other lanes' rounds. */
const LANES = 2
const MATCHES = Array.from({ length: LANES }, (_, i) => `k${i + 1}`)
const POINTS = ['commit', 'window', 'publish', 'sequenced', 'done', 'parent'] as const
const OPTIONS = {
  http: { docs: false },
  batching: { windowMs: 20 },
  outbox: { leaseMs: 400, sweepIntervalMs: 50 },
  rateLimit: { maxConnectionsPerUser: 100, messagesPerSecond: 1000, burst: 1000, upgradesPerIp: 100_000 }
}
const CONVERGE_MS = 20_000

// Far above what the kills take; the default file timeout is for ordinary tests.
t.setTimeout(900_000)

function seed (): Seed {
  return {
    tournaments: [{ id: 't1', name: 'Kill Cup' }],
    members: ([['u-org', 'organizer'], ['u-a', 'participant'], ['u-b', 'participant'], ['u-fan', 'spectator'], ['u-c', 'spectator']] as const)
      .map(([userId, role]) => ({ tournamentId: 't1', userId, role })),
    matches: MATCHES.map((id) => ({ id, tournamentId: 't1', participants: ['u-a', 'u-b'], state: 'live' as const }))
  }
}

/** Resolves once `predicate` holds, polling every 10 ms (these waits are long: no busy loop); rejects after `ms`. */
async function eventually (predicate: () => boolean | Promise<boolean>, ms = CONVERGE_MS): Promise<void> {
  const deadline = Date.now() + ms
  while (!await predicate()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${ms} ms`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

interface MatchFrame { id: string, version: number, scores: Record<string, number> }
interface Frame {
  type: string
  matchId?: string
  seq?: number
  epoch?: string
  match?: MatchFrame
  matches?: MatchFrame[]
  seqs?: Record<string, number>
  events?: Frame[]
  data?: { scores?: Record<string, number> }
}
interface View { epoch?: string, seq: number, score: number }

/**
 * A client that applies what it receives as an SDK would and checks every frame: within a
 * sequence, each event's seq is the next one (no gap, duplicate or reordering).
 */
class Observer {
  readonly name: string
  readonly views = new Map<string, View>()
  /** match → reported value → times its event arrived. */
  readonly reports = new Map<string, Map<number, number>>()
  /** match → the highest match version a snapshot (first or resync) showed. */
  readonly snapshotted = new Map<string, number>()
  readonly violations: string[] = []
  ws: WebSocket | undefined

  constructor (name: string) { this.name = name }

  /**
   * Connects and resolves once the first frame (the snapshot) was applied; a resume (which may
   * have nothing to replay, so no frame comes) resolves once open.
   */
  async connect (url: string, resume = false): Promise<void> {
    const ws = new WebSocket(url, { headers: { authorization: `Bearer ${token(this.name.split('@')[0]!)}` } })
    this.ws = ws
    ws.on('error', () => {})
    const first = new Promise<void>((resolve, reject) => {
      ws.once(resume ? 'open' : 'message', () => resolve())
      ws.once('close', (code) => reject(new Error(`${this.name} closed ${code} before its first frame`)))
    })
    ws.on('message', (data) => this.#apply(JSON.parse(data.toString()) as Frame))
    await first
  }

  #snapshot (matchId: string, seq: number, match: MatchFrame, epoch?: string): void {
    this.views.set(matchId, { seq, score: match.scores['u-b'] ?? 0, ...(epoch !== undefined && { epoch }) })
    this.snapshotted.set(matchId, Math.max(this.snapshotted.get(matchId) ?? 0, match.version))
  }

  #apply (frame: Frame): void {
    if (frame.type === 'snapshot') {
      if (frame.match !== undefined) this.#snapshot(frame.matchId!, frame.seq!, frame.match, frame.epoch)
      for (const m of frame.matches ?? []) this.#snapshot(m.id, frame.seqs![m.id]!, m)
      return
    }
    for (const e of frame.type === 'batch' ? frame.events! : [frame]) {
      if (e.seq === undefined) continue
      const view = this.views.get(e.matchId!)!
      if (e.seq !== view.seq + 1) this.violations.push(`${this.name}: ${e.matchId} seq ${e.seq} after ${view.seq}`)
      view.seq = e.seq
      if (e.type === 'score_updated') view.score = e.data!.scores!['u-b']!
      if (e.type !== 'result_reported') continue
      const counts = this.reports.get(e.matchId!) ?? new Map<number, number>()
      const value = e.data!.scores!['u-a']!
      counts.set(value, (counts.get(value) ?? 0) + 1)
      this.reports.set(e.matchId!, counts)
    }
  }

  /** How an acked report (its value, the match version it made) reached this client. */
  outcome (matchId: string, value: number, version: number): 'delivered' | 'resynced' | 'lost' | 'duplicated' {
    const times = this.reports.get(matchId)?.get(value) ?? 0
    if (times > 1) return 'duplicated'
    if (times === 1) return 'delivered'
    return (this.snapshotted.get(matchId) ?? 0) >= version ? 'resynced' : 'lost'
  }

  close (): void { this.ws?.terminate() }
}

interface Acked { matchId: string, value: number, version: number, watchers: Observer[] }

t.test(`${KILLS} SIGKILLs at random points of the command path: every acked event reaches every client once, in order, or in a resync`, async (t) => {
  const redis = await startRedis(t)
  const keyPrefix = uniquePrefix()
  const store = await pgStore(t, seed())
  const env: InstanceEnv = {
    DATABASE_URL,
    MATCHCAST_TEST_SCHEMA: store.schema,
    REDIS_URL: redis.url,
    MATCHCAST_KEY_PREFIX: keyPrefix,
    MATCHCAST_TEST_OPTIONS: JSON.stringify(OPTIONS)
  }
  const survivorStore = postgresStore({ connectionString: DATABASE_URL, schema: store.schema })
  t.teardown(() => survivorStore.close())
  const survivor = await startApp(t, { ...OPTIONS, store: survivorStore, closeGraceMs: 200, redis: redis.url, keyPrefix })

  // Clients of the surviving instance, connected for the whole test: one per match, and the board.
  const watchers = await Promise.all(MATCHES.map(async (id) => {
    const o = new Observer(`u-fan@${id}`)
    await o.connect(`${survivor.wsUrl}/ws/matches/${id}`)
    return o
  }))
  const board = new Observer('u-fan@board')
  await board.connect(`${survivor.wsUrl}/ws/tournaments/t1`)
  const survivors = (matchId: string): Observer[] => [watchers[MATCHES.indexOf(matchId)]!, board]

  const acked: Acked[] = []
  const points = new Map<string, number>()
  let kills = 0
  let cutOff = 0
  let value = 0

  const spawnVictim = async () => {
    const point = POINTS[Math.floor(Math.random() * POINTS.length)]!
    const instance = await spawnInstance(t, { ...env, MATCHCAST_TEST_FAULT: `${point}:${1 + Math.floor(Math.random() * 3)}` })
    return { instance, point }
  }

  /**
   * Waits until the match's outbox is empty (everything committed was relayed) and every client of
   * it stands at the stream's head with the store's score.
   */
  const converged = async (matchId: string, observers: Observer[]): Promise<void> => {
    try {
      await eventually(async () => (await store.pendingEvents(matchId, 0)).length === 0)
      const { seq } = await survivor.app.matchcast.events.position(matchId)
      const { scores } = (await store.getMatch(matchId))!
      await eventually(() => observers.every((o) => o.views.get(matchId)?.seq === seq && o.views.get(matchId)?.score === scores['u-b']))
    } catch {
      t.fail(`${matchId} did not converge: ${observers.map((o) => `${o.name} ${JSON.stringify(o.views.get(matchId))}`).join(', ')}`)
    }
  }

  /** Sends `command`; resolves with the match version once acked, `undefined` when the connection died first. */
  const send = async (org: Client, matchId: string, command: Record<string, unknown>, id: number): Promise<number | undefined> => {
    org.send({ ...command, id })
    for (;;) {
      const frame = await org.next(10_000).catch(() => undefined)
      if (frame === undefined) return undefined
      if (frame.id !== id) continue
      if (frame.type !== 'ack') throw new Error(`command ${id} failed: ${JSON.stringify(frame)}`)
      // Commands of a match are sent one at a time, so the match's version now is this command's.
      return (await store.getMatch(matchId))!.version
    }
  }

  /** Reports through a victim until it dies; its spectator then resumes on the surviving instance. */
  const victimRound = async (victim: Instance, point: string, matchId: string) => {
    const fan = new Observer(`u-c@${matchId}`)
    const player = new Client(`${victim.wsUrl}/ws/matches/${matchId}`, as('u-a'))
    t.teardown(() => player.close())
    try {
      await fan.connect(`${victim.wsUrl}/ws/matches/${matchId}`)
      await player.next()
    } catch (err) {
      // Started while the round before ran, its relay may have taken over a dead victim's outbox
      // entries and reached its fault point there, before its own round: a kill all the same.
      const signal = await Promise.race([victim.exited, new Promise((resolve) => setTimeout(resolve, 5000))])
      if (signal !== 'SIGKILL') throw err
      fan.close()
      return { fan: undefined, how: `${point} before its round` }
    }
    const watching = [...survivors(matchId), fan]
    const dead = () => victim.child.signalCode !== null || victim.child.exitCode !== null
    let how = point
    let died = false
    const killAt = point === 'parent' ? 1 + Math.floor(Math.random() * 4) : Infinity
    for (let i = 1; i <= 8 && !dead(); i++) {
      const v = ++value
      const report = { type: 'result.report', scores: { 'u-a': v } }
      if (i === killAt) {
        // This process kills it, a random moment after a command left (acked or not).
        player.send({ ...report, id: v })
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 30))
        await victim.kill()
        cutOff++
        died = true
        break
      }
      const version = await send(player, matchId, report, v)
      if (version === undefined) {
        cutOff++
        died = true
        break
      }
      acked.push({ matchId, value: v, version, watchers: watching })
      // One command at a time: the next waits until the surviving instance's client has this one.
      await eventually(() => (watching[0]!.reports.get(matchId)?.has(v) ?? false) || dead())
    }
    // A victim whose fault point was not reached in 8 commands is killed by this process.
    if (!died && !dead()) how = 'parent'
    t.equal(await victim.kill(), 'SIGKILL', `victim killed (${how})`)
    await player.closeInfo(10_000)
    // The victim's spectator resumes where it was, on the surviving instance.
    const view = fan.views.get(matchId)!
    fan.close()
    await fan.connect(`${survivor.wsUrl}/ws/matches/${matchId}?lastSeq=${view.seq}&epoch=${view.epoch!}`, true)
    return { fan, how }
  }

  const lane = async (index: number): Promise<void> => {
    const matchId = MATCHES[index]!
    const organizer = new Client(`${survivor.wsUrl}/ws/matches/${matchId}`, as('u-org'))
    t.teardown(() => organizer.close())
    await organizer.next()
    const rounds = Math.ceil(KILLS / LANES)
    // The next victim starts while this one runs.
    let next = spawnVictim()
    for (let round = 1; round <= rounds; round++) {
      const { instance, point } = await next
      if (round < rounds) next = spawnVictim()
      const { fan, how } = await victimRound(instance, point, matchId)
      points.set(how, (points.get(how) ?? 0) + 1)
      kills++
      // Half the time the surviving instance commits the next change before recovery is done:
      // its relay must announce the dead instance's change first.
      if (Math.random() < 0.5) {
        const v = ++value
        await send(organizer, matchId, { type: 'score.update', scores: { 'u-b': v } }, v)
      }
      await converged(matchId, [...survivors(matchId), ...fan === undefined ? [] : [fan]])
      fan?.close()
    }
  }

  await Promise.all(MATCHES.map((_id, i) => lane(i)))
  for (const matchId of MATCHES) await converged(matchId, survivors(matchId))

  const counts = { delivered: 0, resynced: 0, lost: 0, duplicated: 0 }
  for (const a of acked) for (const o of a.watchers) counts[o.outcome(a.matchId, a.value, a.version)]++
  const violations = [...new Set([...watchers, board, ...acked.flatMap((a) => a.watchers)])].flatMap((o) => o.violations)
  t.same(violations, [], 'every client saw contiguous seqs')
  t.equal(counts.lost, 0, 'nothing lost')
  t.equal(counts.duplicated, 0, 'nothing twice')
  t.ok(kills >= KILLS, `${kills} kills`)
  t.comment(`kill test: ${kills} kills (${[...points].map(([p, n]) => `${p} ${n}`).join(', ')}), ${acked.length} acked commands ` +
    `(+${cutOff} cut off before their ack), ${acked.reduce((n, a) => n + a.watchers.length, 0)} client × command pairs: ` +
    `${counts.delivered} delivered, ${counts.resynced} resynced, ${counts.lost} lost, ${counts.duplicated} duplicated`)
  for (const o of [...watchers, board]) o.close()
})
