/**
 * Property: for any two participants — ids spelled like built-in properties included — and any
 * scores, finalizing (over the WebSocket and over HTTP, on the memory store and on PostgreSQL)
 * makes `winnerId` the winner when given, else the participant with the highest own score (a
 * missing score is 0); a tie without `winnerId` is refused and changes nothing. The certificate
 * and the payout go to that winner.
 */
import fc from 'fast-check'
import t, { type Test } from 'tap'
import { memoryStore } from '../../../plugins/store/memory-store.js'
import type { Seed } from '../../../schemas/common.js'
import { Client, as, startApp, type TestApp } from '../../helper.js'
import { pgStore } from '../../postgres.js'
import { bearer } from '../http/setup.js'

const BUILT_IN = [...new Set([
  ...Object.getOwnPropertyNames(Object.prototype), '__proto__', 'prototype', 'constructor', 'toString', 'valueOf', 'hasOwnProperty'
])]
const ORGANIZER = 'u-org'
const id = fc.oneof(fc.constantFrom(...BUILT_IN), fc.stringMatching(/^[A-Za-z0-9_.:-]{1,12}$/)).filter((u) => u !== ORGANIZER)

interface Case {
  players: [string, string]
  /** Each player's score, or `undefined` to leave it out of `scores`. */
  points: [number | undefined, number | undefined]
  /** Index of the player named as `winnerId`, if any. */
  named: 0 | 1 | undefined
}

const finalize = fc.record({
  players: fc.uniqueArray(id, { minLength: 2, maxLength: 2 }) as fc.Arbitrary<[string, string]>,
  // Small scores, so ties are frequent.
  points: fc.tuple(fc.option(fc.nat(3), { nil: undefined }), fc.option(fc.nat(3), { nil: undefined })),
  named: fc.option(fc.constantFrom(0 as const, 1 as const), { nil: undefined, freq: 4 })
})

/** The command body: `scores` holds own keys only, whatever the ids are called. */
function bodyOf ({ players, points, named }: Case): { scores: Record<string, number>, winnerId?: string } {
  const scores = Object.fromEntries(players.flatMap((p, i) => (points[i] === undefined ? [] : [[p, points[i]]])))
  return named === undefined ? { scores } : { scores, winnerId: players[named] }
}

/** What the contract says: the named winner, else the highest score (missing = 0), else a tie (`undefined`). */
function expectedWinner ({ players, points, named }: Case): string | undefined {
  if (named !== undefined) return players[named]
  const [a, b] = [points[0] ?? 0, points[1] ?? 0]
  return a === b ? undefined : players[a > b ? 0 : 1]
}

/** A tournament of its own for one run, with a match to finalize over each transport. */
function seedOf (run: number, players: [string, string]): Seed {
  const tournamentId = `t-${run}`
  return {
    tournaments: [{ id: tournamentId, name: `Cup ${run}` }],
    members: [
      { tournamentId, userId: ORGANIZER, role: 'organizer' },
      ...players.map((userId) => ({ tournamentId, userId, role: 'participant' as const }))
    ],
    matches: ['ws', 'http'].map((via) => ({
      id: `${via}-${run}`, tournamentId, participants: players, state: 'live' as const, prize: { amount: 100, currency: 'USD' }
    }))
  }
}

const LIMITS = { rateLimit: { messagesPerSecond: 1_000_000, burst: 1_000_000, http: { max: 1_000_000 } } }

/** Finalizes over the WebSocket; resolves the `winnerId` of the `match_completed` seen before the ack, or the error. */
async function overWebSocket (wsUrl: string, matchId: string, body: object): Promise<{ winnerId?: string, error?: Record<string, unknown>, invalid: unknown[] }> {
  const c = new Client(`${wsUrl}/ws/matches/${matchId}`, as(ORGANIZER))
  try {
    if ((await c.next()).type !== 'snapshot') throw new Error('no snapshot')
    c.send(JSON.stringify({ type: 'match.finalize', id: 'f', ...body }))
    let winnerId: string | undefined
    for (;;) {
      const frame = await c.next()
      if (frame.type === 'match_completed') winnerId = (frame.data as { winnerId: string }).winnerId
      if (frame.type === 'ack') return { ...(winnerId !== undefined && { winnerId }), invalid: c.invalid }
      if (frame.type === 'error') return { error: frame, invalid: c.invalid }
    }
  } finally {
    await c.close()
  }
}

/** Throws, naming the broken promise, unless `cond` holds. */
function expect (cond: boolean, what: string): void {
  if (!cond) throw new Error(what)
}

/** Checks one case against the app; throws naming the first broken promise. */
async function check ({ app, wsUrl }: TestApp, run: number, c: Case): Promise<void> {
  const winner = expectedWinner(c)
  const body = bodyOf(c)
  const store = app.matchcast.store
  const ws = await overWebSocket(wsUrl, `ws-${run}`, body)
  const http = await app.inject({
    method: 'POST',
    url: `/matches/http-${run}/finalize`,
    headers: { ...bearer(ORGANIZER), 'content-type': 'application/json' },
    payload: JSON.stringify(body)
  })
  expect(ws.invalid.length === 0, 'every frame fits the frame schema')
  if (winner === undefined) {
    expect(ws.error?.code === 'invalid_message' && ws.error.message === 'winnerId: scores are tied; winnerId is required', 'a tie is refused over the WebSocket')
    expect(http.statusCode === 400 && http.json().code === 'MATCHCAST_ERR_BAD_REQUEST', 'a tie is refused over HTTP')
    for (const matchId of [`ws-${run}`, `http-${run}`]) {
      const match = await store.getMatch(matchId)
      expect(match?.state === 'live' && match.version === 0, `${matchId} is untouched`)
      expect(await store.getCertificateByMatch(matchId) === undefined, `${matchId} has no certificate`)
      expect(await store.getPayoutByMatch(matchId) === undefined, `${matchId} has no payout`)
    }
    return
  }
  expect(ws.winnerId === winner, 'match_completed names the winner')
  expect(http.statusCode === 200 && http.json().match.winnerId === winner, 'the HTTP answer names the winner')
  for (const matchId of [`ws-${run}`, `http-${run}`]) {
    expect((await store.getMatch(matchId))?.winnerId === winner, `${matchId} stores the winner`)
    expect((await store.getCertificateByMatch(matchId))?.userId === winner, `${matchId}'s certificate goes to the winner`)
    expect((await store.getPayoutByMatch(matchId))?.userId === winner, `${matchId}'s payout goes to the winner`)
  }
}

/** Cases the hostile test found, always run first. */
const EXAMPLES: Array<[Case]> = [
  [{ players: ['toString', 'u-b'], points: [undefined, 5], named: undefined }],
  [{ players: ['constructor', '__proto__'], points: [undefined, undefined], named: undefined }],
  [{ players: ['__proto__', 'valueOf'], points: [2, undefined], named: undefined }],
  [{ players: ['hasOwnProperty', 'prototype'], points: [1, 1], named: 1 }]
]

/** An app holding a run's seed, and what to do once the run is checked. */
type Prepare = (seed: Seed) => Promise<{ running: TestApp, release: () => Promise<void> }>

const STORES: ReadonlyArray<readonly [string, (t: Test) => Promise<Prepare>]> = [
  // A fresh app on a fresh memory store per run, closed after it.
  ['memory', async (t) => async (seed) => {
    const running = await startApp(t, { ...LIMITS, store: memoryStore(seed) })
    return { running, release: () => running.app.close() }
  }],
  // One app on one PostgreSQL store; each run loads its own tournament into it.
  ['PostgreSQL', async (t) => {
    const store = await pgStore(t)
    const running = await startApp(t, { ...LIMITS, store })
    return async (seed) => {
      await store.loadSeed(seed)
      return { running, release: async () => {} }
    }
  }]
]

for (const [name, setup] of STORES) {
  t.test(`the winner is the highest own score, or the tie is refused (${name} store)`, async (t) => {
    const prepare = await setup(t)
    let run = 0
    await fc.assert(fc.asyncProperty(finalize, async (c) => {
      run++
      const { running, release } = await prepare(seedOf(run, c.players))
      try {
        await check(running, run, c)
      } finally {
        await release()
      }
    }), { numRuns: 30, examples: EXAMPLES })
    t.equal(run, 30, 'examples included')
  })
}
