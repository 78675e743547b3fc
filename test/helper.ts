/**
 * Test helpers: a matchcast app listening on a free port, JWTs, and real `ws` clients with
 * event-driven waits (every wait is bounded, nothing sleeps).
 */
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import { createSigner } from 'fast-jwt'
import WebSocket, { type ClientOptions } from 'ws'
import { Compile } from 'typebox/compile'
import matchcast, { memoryStore, type MatchcastOptions, type Seed } from '../index.js'
import { ServerFrame } from '../schemas/messages.js'

export const SECRET = 'test-secret-with-enough-entropy-0123456789'
/** Bounded wait for any one expected event. */
export const WAIT_MS = 2000

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

const checkFrame = Compile(ServerFrame)

export interface Closed { code: number, reason: string }

/** A real `ws` client that collects frames and lets a test await them one by one. */
export class Client {
  readonly ws: WebSocket
  readonly frames: unknown[] = []
  /** Frames that did not validate against the server-frame schema (should stay empty). */
  readonly invalid: unknown[] = []
  readonly closed: Promise<Closed>
  readonly opened: Promise<void>
  /** The HTTP status of a refused upgrade, when there was one. */
  readonly refused: Promise<number>
  #waiters: Array<() => void> = []
  #read = 0

  constructor (url: string, options: ClientOptions & { protocols?: string[] } = {}) {
    this.ws = new WebSocket(url, options.protocols ?? [], options)
    this.ws.on('message', (data) => {
      const frame: unknown = JSON.parse(data.toString())
      if (!checkFrame.Check(frame)) this.invalid.push(frame)
      this.frames.push(frame)
      for (const w of this.#waiters.splice(0)) w()
    })
    this.closed = new Promise((resolve) => {
      this.ws.on('close', (code, reason) => {
        resolve({ code, reason: reason.toString() })
        for (const w of this.#waiters.splice(0)) w()
      })
    })
    this.refused = new Promise((resolve) => this.ws.on('unexpected-response', (_req, res) => {
      resolve(res.statusCode!)
      res.resume()
      this.ws.terminate()
    }))
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve())
      this.ws.once('error', reject)
    })
    this.ws.on('error', () => {})
    // A refused or aborted handshake is an outcome tests assert on, not an unhandled rejection.
    this.opened.catch(() => {})
  }

  send (value: unknown): void {
    this.ws.send(typeof value === 'string' ? value : JSON.stringify(value))
  }

  /** The next frame not read yet; rejects after `WAIT_MS` or when the socket closes first. */
  async next<T = Record<string, unknown>> (ms = WAIT_MS): Promise<T> {
    const deadline = Date.now() + ms
    while (this.#read >= this.frames.length) {
      if (this.ws.readyState === WebSocket.CLOSED) throw new Error('socket closed while waiting for a frame')
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`no frame within ${ms} ms`)
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left)
        this.#waiters.push(() => { clearTimeout(timer); resolve() })
      })
    }
    return this.frames[this.#read++] as T
  }

  /** Frames received and not read yet. */
  get unread (): unknown[] { return this.frames.slice(this.#read) }

  /** Resolves with the close, or rejects after `WAIT_MS`. */
  async closeInfo (ms = WAIT_MS): Promise<Closed> {
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_resolve, reject) => { timer = setTimeout(() => reject(new Error(`not closed within ${ms} ms`)), ms) })
    try {
      return await Promise.race([this.closed, timeout])
    } finally {
      clearTimeout(timer)
    }
  }

  /** A round trip: sends `ping` and returns the `pong` (proves the connection is open and served in order). */
  async ping (): Promise<void> {
    this.send({ type: 'ping', id: 'rt' })
    for (;;) {
      const frame = await this.next()
      if (frame.type === 'pong' && frame.id === 'rt') return
    }
  }

  async close (): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return
    if (this.ws.readyState === WebSocket.CONNECTING) this.ws.terminate()
    else this.ws.close(1000)
    await this.closed
  }
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
