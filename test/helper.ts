/**
 * Test helpers: a matchcast app listening on a free port, JWTs, and real `ws` clients with
 * event-driven waits (every wait is bounded, nothing sleeps).
 */
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import { createSigner } from 'fast-jwt'
import type { ClientOptions } from 'ws'
import matchcast, { memoryStore, type MatchcastOptions, type Seed, type Store } from '../index.js'
import { Client, WAIT_MS } from '../testing/room-client.js'

export { Client, WAIT_MS, type Closed } from '../testing/room-client.js'

export const SECRET = 'test-secret-with-enough-entropy-0123456789'

export interface TapLike {
  teardown (fn: () => unknown): void
}

/** A tournament with an organizer, three participants, a spectator and four matches. */
export function testSeed (): Seed {
  return {
    tournaments: [{ id: 't1', name: 'Spring Cup' }, { id: 't2', name: 'Other Cup' }],
    members: [
      { tournamentId: 't1', userId: 'u-org', role: 'organizer' },
      { tournamentId: 't1', userId: 'u-org2', role: 'organizer' },
      { tournamentId: 't1', userId: 'u-a', role: 'participant' },
      { tournamentId: 't1', userId: 'u-b', role: 'participant' },
      { tournamentId: 't1', userId: 'u-c', role: 'participant' },
      { tournamentId: 't1', userId: 'u-fan', role: 'spectator' },
      { tournamentId: 't2', userId: 'u-x', role: 'organizer' }
    ],
    matches: [
      { id: 'm1', tournamentId: 't1', participants: ['u-a', 'u-b'], state: 'scheduled', prize: { amount: 5000, currency: 'USD' } },
      { id: 'm2', tournamentId: 't1', participants: ['u-b', 'u-c'], state: 'live' },
      { id: 'm3', tournamentId: 't1', participants: ['u-a', 'u-c'], state: 'scheduled' },
      { id: 'm9', tournamentId: 't2', participants: ['u-x', 'u-y'], state: 'scheduled' }
    ]
  }
}

const signers = new Map<string, (payload: object) => string>()
/** A valid HS256 token for `sub` (a fresh `iat`, 1 h expiry). */
export function token (sub: string, options: { secret?: string, algorithm?: string, expiresIn?: number } = {}): string {
  const key = `${options.secret ?? SECRET}|${options.algorithm ?? 'HS256'}|${options.expiresIn ?? 3_600_000}`
  let signer = signers.get(key)
  if (signer === undefined) {
    signer = createSigner({ key: options.secret ?? SECRET, algorithm: (options.algorithm ?? 'HS256') as 'HS256', expiresIn: options.expiresIn ?? 3_600_000 })
    signers.set(key, signer)
  }
  return signer({ sub })
}

export interface TestApp {
  app: FastifyInstance
  /** `ws://127.0.0.1:<port>` */
  wsUrl: string
}

/** A parsed log line. */
export interface LogLine { level: number, msg: string, [field: string]: unknown }

/** Fastify logger options that keep every line written at `level` or above, parsed, in `lines`. */
export function collectLogs (level = 'info'): { lines: LogLine[], logger: NonNullable<FastifyServerOptions['logger']> } {
  const lines: LogLine[] = []
  return { lines, logger: { level, stream: { write: (line: string) => { lines.push(JSON.parse(line) as LogLine) } } } }
}

/** Builds matchcast on a fresh Fastify, listening on a free loopback port; closed at teardown. */
export async function startApp (t: TapLike, options: Partial<MatchcastOptions> = {}, seed: Seed = testSeed(),
  fastifyOptions: FastifyServerOptions = {}): Promise<TestApp> {
  const app = Fastify(fastifyOptions)
  t.teardown(() => app.close())
  await app.register(matchcast, {
    auth: { secret: SECRET },
    store: memoryStore(seed),
    batching: { windowMs: 5 },
    heartbeat: { intervalMs: 0 },
    closeGraceMs: 200,
    ...options
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as { port: number }
  return { app, wsUrl: `ws://127.0.0.1:${port}` }
}

/** Opens a client on `path` with a bearer header for `user` (or raw options), and waits for the first frame. */
export function client (t: TapLike, base: string, path: string, options: ClientOptions & { protocols?: string[] } = {}): Client {
  const c = new Client(base + path, options)
  t.teardown(() => c.close())
  return c
}

/** The next reply (`ack`, `error` or `pong`) a client receives, skipping the events before it. */
export async function reply (c: Client, ms = WAIT_MS): Promise<Record<string, unknown>> {
  for (;;) {
    const frame = await c.next(ms)
    if (frame.type === 'ack' || frame.type === 'error' || frame.type === 'pong') return frame
  }
}

/** Opens a match room for `user` (bearer header) and reads its snapshot. */
export async function join (t: TapLike, base: string, user: string, match: string): Promise<Client> {
  const c = client(t, base, `/ws/matches/${match}`, as(user))
  const snapshot = await c.next()
  if (snapshot.type !== 'snapshot') throw new Error(`expected a snapshot, got ${JSON.stringify(snapshot)}`)
  return c
}

/** Bearer-header options for `user`. */
export function as (user: string): ClientOptions {
  return { headers: { authorization: `Bearer ${token(user)}` } }
}

/** Resolves when `predicate` holds, checking on every turn of the event loop; rejects after `ms`. */
export async function until (predicate: () => boolean, ms = WAIT_MS): Promise<void> {
  const deadline = Date.now() + ms
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${ms} ms`)
    await new Promise((resolve) => setImmediate(resolve))
  }
}

/** Makes the next call of `store[method]` fail as a store that is down would (the ones after it work). */
export function failOnce (store: Store, method: 'getMatch' | 'updateMatch'): void {
  const original = store[method].bind(store) as (...args: unknown[]) => Promise<unknown>
  let failures = 1
  store[method] = (async (...args: unknown[]) => {
    if (failures-- > 0) throw new Error('the database is down')
    return original(...args)
  }) as never
}

/** Holds every `updateMatch` of `store` until `release()`: commands caught between their read and their write. */
export function holdWrites (store: Store): { release: () => void, writes: () => number } {
  let release!: () => void
  const held = new Promise<void>((resolve) => { release = resolve })
  const update = store.updateMatch.bind(store)
  let writes = 0
  store.updateMatch = async (...args: Parameters<Store['updateMatch']>) => {
    writes++
    await held
    return update(...args)
  }
  return { release, writes: () => writes }
}
