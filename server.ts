/**
 * The demo server: the umbrella plugin on embedded defaults (memory store, no Redis), configured
 * from the environment. `npm start` runs it; `loadConfig` and `createServer` are exported for tests.
 */
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { createSigner } from 'fast-jwt'
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import { demoBoard } from './demo/board.js'
import matchcast, { memoryStore, postgresStore, type MatchcastOptions, type Seed } from './index.js'

export const DEV_SECRET = 'matchcast-dev-secret-change-me'
/** A socket silent this long is closed (Fastify `connectionTimeout`; `ws` lifts it once upgraded). */
export const DEFAULT_CONNECTION_TIMEOUT_MS = 10_000
/** A request not fully received by then is answered 408 (Fastify `requestTimeout`; slow senders). */
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000
export const DEMO_SEED_PATH = fileURLToPath(new URL('./demo/seed.json', import.meta.url))

export interface DemoConfig {
  port: number
  host: string
  /** Fastify `connectionTimeout` (`MATCHCAST_CONNECTION_TIMEOUT_MS`); 0 = none. @default 10000 */
  connectionTimeoutMs: number
  /** Fastify `requestTimeout` (`MATCHCAST_REQUEST_TIMEOUT_MS`); 0 = none. @default 30000 */
  requestTimeoutMs: number
  /** The JWT secret was not set and the dev default is in use. */
  devSecret: boolean
  /** The demo seed is in use (tokens are printed for its users). */
  demoSeed: boolean
  /**
   * The board's sign-in route (`POST /demo/token`) mints tokens for the seed's members
   * (`MATCHCAST_DEMO_SIGN_IN`). @default true with the dev secret (anyone can mint those anyway), false with your own
   */
  signIn: boolean
  seed: Seed
  /** PostgreSQL (`DATABASE_URL`), seeded with `seed` (existing rows kept); unset = the memory store. */
  databaseUrl?: string
  /** Schema of the PostgreSQL tables (`MATCHCAST_DATABASE_SCHEMA`). @default 'matchcast' */
  databaseSchema?: string
  logLevel: string
  /** Human-readable logs (pino-pretty) instead of JSON lines: when stdout is a terminal. */
  pretty?: boolean
  options: MatchcastOptions
}

type Env = Record<string, string | undefined>

/** A variable's value, or `undefined` when unset or empty. */
function read (env: Env, name: string): string | undefined {
  const value = env[name]
  return value === undefined || value.trim() === '' ? undefined : value.trim()
}

function integer (env: Env, name: string): number | undefined {
  const value = read(env, name)
  if (value === undefined) return undefined
  if (!/^-?\d+$/.test(value)) throw new Error(`${name}: expected an integer, got ${JSON.stringify(value)}`)
  return Number(value)
}

/** A duration for the server: an integer, 0 (none) or more. */
function milliseconds (env: Env, name: string): number | undefined {
  const value = integer(env, name)
  if (value !== undefined && value < 0) throw new Error(`${name}: expected 0 or more, got ${value}`)
  return value
}

function number (env: Env, name: string): number | undefined {
  const value = read(env, name)
  if (value === undefined) return undefined
  const parsed = Number(value)
  if (!Number.isFinite(parsed)) throw new Error(`${name}: expected a number, got ${JSON.stringify(value)}`)
  return parsed
}

function boolean (env: Env, name: string): boolean | undefined {
  const value = read(env, name)
  if (value === undefined) return undefined
  if (!/^(true|false|1|0)$/.test(value)) throw new Error(`${name}: expected true or false, got ${JSON.stringify(value)}`)
  return value === 'true' || value === '1'
}

/** `host:port,host:port` → the startup nodes of a Redis Cluster. */
function clusterNodes (env: Env, name: string): { cluster: Array<{ host: string, port: number }> } | undefined {
  const value = read(env, name)
  if (value === undefined) return undefined
  const nodes = value.split(',').map((n) => n.trim()).filter(Boolean).map((node) => {
    const match = /^(.+):(\d{1,5})$/.exec(node)
    if (match === null || Number(match[2]) > 65535) throw new Error(`${name}: expected a comma list of host:port, got ${JSON.stringify(node)}`)
    // A bracketed IPv6 address ([::1]:7000) is given to ioredis without its brackets.
    return { host: match[1]!.replace(/^\[(.*)\]$/, '$1'), port: Number(match[2]) }
  })
  if (nodes.length === 0) throw new Error(`${name}: expected a comma list of host:port, got none`)
  return { cluster: nodes }
}

type Parser = (env: Env, name: string) => number | boolean | string | object | undefined

/** Environment variable → option path and parser, for every option the demo server exposes. */
export const ENV_OPTIONS: Readonly<Record<string, readonly [readonly string[], Parser]>> = {
  MATCHCAST_JWT_REQUIRE_EXP: [['auth', 'requireExp'], boolean],
  MATCHCAST_JWT_CLOCK_TOLERANCE_MS: [['auth', 'clockToleranceMs'], integer],
  REDIS_URL: [['redis'], read],
  MATCHCAST_REDIS_CLUSTER_NODES: [['redis'], clusterNodes],
  MATCHCAST_KEY_PREFIX: [['keyPrefix'], read],
  MATCHCAST_BATCH_WINDOW_MS: [['batching', 'windowMs'], integer],
  MATCHCAST_BATCH_MAX: [['batching', 'maxBatch'], integer],
  MATCHCAST_HISTORY_SIZE: [['history', 'size'], integer],
  MATCHCAST_HISTORY_TTL_MS: [['history', 'ttlMs'], integer],
  MATCHCAST_OUTBOX_LEASE_MS: [['outbox', 'leaseMs'], integer],
  MATCHCAST_OUTBOX_SWEEP_INTERVAL_MS: [['outbox', 'sweepIntervalMs'], integer],
  MATCHCAST_HISTORY_FINISHED_TTL_MS: [['history', 'finishedTtlMs'], integer],
  MATCHCAST_HISTORY_IDLE_TTL_MS: [['history', 'idleTtlMs'], integer],
  MATCHCAST_MAX_CONNECTIONS_PER_USER: [['rateLimit', 'maxConnectionsPerUser'], integer],
  MATCHCAST_MESSAGES_PER_SECOND: [['rateLimit', 'messagesPerSecond'], number],
  MATCHCAST_BURST: [['rateLimit', 'burst'], integer],
  MATCHCAST_MAX_PAYLOAD_BYTES: [['rateLimit', 'maxPayloadBytes'], integer],
  MATCHCAST_UPGRADES_PER_IP: [['rateLimit', 'upgradesPerIp'], integer],
  MATCHCAST_UPGRADE_WINDOW_MS: [['rateLimit', 'upgradeWindowMs'], integer],
  MATCHCAST_MAX_CONNECTIONS_PER_IP: [['rateLimit', 'maxConnectionsPerIp'], integer],
  MATCHCAST_CONNECTION_TTL_MS: [['rateLimit', 'connectionTtlMs'], integer],
  MATCHCAST_REDIS_TIMEOUT_MS: [['rateLimit', 'redisTimeoutMs'], integer],
  MATCHCAST_REDIS_PROBE_INTERVAL_MS: [['rateLimit', 'redisProbeIntervalMs'], integer],
  MATCHCAST_LEASE_SIZE: [['rateLimit', 'leaseSize'], integer],
  MATCHCAST_HTTP_RATE_MAX: [['rateLimit', 'http', 'max'], integer],
  MATCHCAST_HTTP_RATE_WINDOW_MS: [['rateLimit', 'http', 'timeWindowMs'], integer],
  MATCHCAST_HEARTBEAT_INTERVAL_MS: [['heartbeat', 'intervalMs'], integer],
  MATCHCAST_BACKPRESSURE_HIGH_WATER_MARK: [['backpressure', 'highWaterMark'], integer],
  MATCHCAST_BACKPRESSURE_HARD_LIMIT: [['backpressure', 'hardLimit'], integer],
  MATCHCAST_BACKPRESSURE_GRACE_MS: [['backpressure', 'graceMs'], integer],
  MATCHCAST_CLOSE_GRACE_MS: [['closeGraceMs'], integer],
  MATCHCAST_TRANSPORT_MAX_PAYLOAD_BYTES: [['transportMaxPayloadBytes'], integer],
  MATCHCAST_STORE_TIMEOUT_MS: [['storeTimeoutMs'], integer],
  MATCHCAST_IDEMPOTENCY_TTL_MS: [['http', 'idempotencyTtlMs'], integer],
  MATCHCAST_COMMAND_ID_TTL_MS: [['commandIdTtlMs'], integer],
  MATCHCAST_IDEMPOTENCY_LEASE_MS: [['http', 'idempotencyLeaseMs'], integer],
  MATCHCAST_READINESS_TIMEOUT_MS: [['http', 'readinessTimeoutMs'], integer],
  MATCHCAST_DOCS: [['http', 'docs'], boolean],
  MATCHCAST_PUBLIC_URL: [['certificates', 'publicUrl'], read],
  MATCHCAST_CERTIFICATE_ISSUER: [['certificates', 'issuer'], read],
  MATCHCAST_PREFIX: [['prefix'], read],
  MATCHCAST_ROUTES: [['http', 'routes'], boolean],
  MATCHCAST_ROUTES_PREFIX: [['http', 'routesPrefix'], read],
  MATCHCAST_OPS: [['http', 'ops'], boolean],
  MATCHCAST_OPS_PREFIX: [['http', 'opsPrefix'], read],
  MATCHCAST_DOCS_PREFIX: [['http', 'docsPrefix'], read],
  MATCHCAST_DOCS_UI: [['http', 'docsUi'], boolean]
}

/**
 * Every match participant must be a member of the match's tournament (SPEC section 8): a seed that
 * breaks this would admit the user to no room of their own match. Throws naming the match and user.
 */
export function checkSeedMembership (seed: Seed): void {
  // Runs before the seed's schema check, which reports a malformed seed by its own words.
  const list = <T>(value: T[] | undefined): T[] => (Array.isArray(value) ? value : [])
  const members = new Set(list(seed.members).map((m) => `${m.tournamentId}\u0000${m.userId}`))
  for (const match of list(seed.matches)) {
    for (const userId of list(match.participants)) {
      if (!members.has(`${match.tournamentId}\u0000${userId}`)) {
        throw new Error(`MATCHCAST_SEED: match ${match.id}: participant ${userId} is not a member of tournament ${match.tournamentId}`)
      }
    }
  }
}

/** Reads the demo server's configuration; throws an error naming the variable on a bad value. */
export function loadConfig (env: Env): DemoConfig {
  const port = integer(env, 'PORT') ?? 3000
  if (port < 0 || port > 65535) throw new Error(`PORT: expected 0-65535, got ${port}`)
  const connectionTimeoutMs = milliseconds(env, 'MATCHCAST_CONNECTION_TIMEOUT_MS') ?? DEFAULT_CONNECTION_TIMEOUT_MS
  const requestTimeoutMs = milliseconds(env, 'MATCHCAST_REQUEST_TIMEOUT_MS') ?? DEFAULT_REQUEST_TIMEOUT_MS
  const secret = read(env, 'MATCHCAST_JWT_SECRET')
  const seedPath = read(env, 'MATCHCAST_SEED')
  let seed: Seed
  try {
    seed = JSON.parse(readFileSync(seedPath ?? DEMO_SEED_PATH, 'utf8')) as Seed
  } catch (err) {
    throw new Error(`MATCHCAST_SEED: cannot read ${seedPath}: ${(err as Error).message}`)
  }
  checkSeedMembership(seed)
  const options: MatchcastOptions & Record<string, unknown> = { auth: { secret: secret ?? DEV_SECRET } }
  if (read(env, 'REDIS_URL') !== undefined && read(env, 'MATCHCAST_REDIS_CLUSTER_NODES') !== undefined) {
    throw new Error('MATCHCAST_REDIS_CLUSTER_NODES: set either it (a Redis Cluster) or REDIS_URL (one server), not both')
  }
  for (const [name, [path, parse]] of Object.entries(ENV_OPTIONS)) {
    const value = parse(env, name)
    if (value === undefined) continue
    let target: Record<string, unknown> = options
    for (const key of path.slice(0, -1)) target = (target[key] ??= {}) as Record<string, unknown>
    target[path.at(-1)!] = value
  }
  const origins = read(env, 'MATCHCAST_ALLOWED_ORIGINS')
  if (origins !== undefined) options.allowedOrigins = origins.split(',').map((o) => o.trim()).filter(Boolean)
  const keyFile = read(env, 'MATCHCAST_CERTIFICATE_KEY_FILE')
  if (keyFile !== undefined) {
    try {
      (options.certificates ??= {}).privateKey = readFileSync(keyFile, 'utf8')
    } catch (err) {
      throw new Error(`MATCHCAST_CERTIFICATE_KEY_FILE: cannot read ${keyFile}: ${(err as Error).message}`)
    }
  }
  const databaseUrl = read(env, 'DATABASE_URL')
  // The value is not echoed: it may hold a password.
  if (databaseUrl !== undefined && !/^postgres(ql)?:\/\//.test(databaseUrl)) throw new Error('DATABASE_URL: expected a postgres:// or postgresql:// URL')
  return {
    ...(databaseUrl !== undefined && { databaseUrl }),
    signIn: boolean(env, 'MATCHCAST_DEMO_SIGN_IN') ?? secret === undefined,
    ...(read(env, 'MATCHCAST_DATABASE_SCHEMA') !== undefined && { databaseSchema: read(env, 'MATCHCAST_DATABASE_SCHEMA')! }),
    port,
    host: read(env, 'HOST') ?? '127.0.0.1',
    connectionTimeoutMs,
    requestTimeoutMs,
    devSecret: secret === undefined,
    demoSeed: seedPath === undefined,
    seed,
    logLevel: read(env, 'MATCHCAST_LOG_LEVEL') ?? 'info',
    options
  }
}

/** Which environment variable sets the option a registration error names. */
function variableFor (message: string): string | undefined {
  // Error messages name the option as `[plugin.]path: …`, e.g. `broadcast.batching.windowMs: …`.
  const entry = Object.entries(ENV_OPTIONS).find(([, [path]]) => new RegExp(`(^|[ .])${path.join('\\.')}:`).test(message))
  if (entry !== undefined) return entry[0]
  if (message.includes('database.schema')) return 'MATCHCAST_DATABASE_SCHEMA'
  // The store plugin names its option `store.timeoutMs` (the umbrella's `storeTimeoutMs`).
  if (message.includes('store.timeoutMs')) return 'MATCHCAST_STORE_TIMEOUT_MS'
  if (message.includes('seed')) return 'MATCHCAST_SEED'
  if (message.includes('certificates.')) return 'MATCHCAST_CERTIFICATE_KEY_FILE'
  return undefined
}

/** Builds (but does not start) the demo app; a bad option fails naming its variable. */
export async function createServer (config: DemoConfig, loggerOptions?: FastifyServerOptions['logger']): Promise<FastifyInstance> {
  const pretty = { level: config.logLevel, transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' } } }
  const app = Fastify({
    logger: loggerOptions ?? (config.pretty === true ? pretty : { level: config.logLevel }),
    // Sockets that never complete a request or an upgrade must not hold file descriptors for long.
    connectionTimeout: config.connectionTimeoutMs,
    requestTimeout: config.requestTimeoutMs
  })
  try {
    const store = config.databaseUrl === undefined
      ? memoryStore(config.seed)
      : postgresStore({
        connectionString: config.databaseUrl,
        ...(config.databaseSchema !== undefined && { schema: config.databaseSchema }),
        seed: config.seed,
        onError: (err) => app.log.error({ err }, 'PostgreSQL connection error')
      })
    app.addHook('onClose', () => store.close())
    await app.register(matchcast, { ...config.options, store })
    await app.register(demoBoard, { seed: config.seed, signIn: config.signIn, matchcastPrefix: config.options.prefix ?? '' })
    await app.ready()
  } catch (err) {
    await app.close()
    const variable = variableFor((err as Error).message)
    throw new Error(variable === undefined ? (err as Error).message : `${variable}: ${(err as Error).message}`, { cause: err })
  }
  return app
}

/** A token the demo server accepts for `userId`, valid for 12 h (HS256 with the configured secret). */
export function demoToken (config: Pick<DemoConfig, 'options'>, userId: string): string {
  const sign = createSigner({ key: config.options.auth!.secret as string, algorithm: 'HS256', expiresIn: 12 * 60 * 60 * 1000 })
  return sign({ sub: userId })
}

/** The seed's users, each once, with their role per tournament. */
function seedUsers (seed: Seed): Map<string, string[]> {
  const users = new Map<string, string[]>()
  for (const m of seed.members) users.set(m.userId, [...users.get(m.userId) ?? [], `${m.role} of ${m.tournamentId}`])
  return users
}

export interface StartOptions {
  /** Human-readable logs (stdout is a terminal). @default false */
  pretty?: boolean
}

/**
 * Starts the demo server and prints where it listens, the docs, the seed's ids and, with the dev
 * secret or the demo seed, a token per seed user (otherwise how to make one).
 */
export async function main (env: Env, print: (line: string) => void, start: StartOptions = {}): Promise<FastifyInstance> {
  const config = { ...loadConfig(env), ...(start.pretty === true && { pretty: true }) }
  const app = await createServer(config)
  const address = await app.listen({ port: config.port, host: config.host })
  const base = `${address}${config.options.prefix ?? ''}`
  const ws = base.replace(/^http/, 'ws')
  print(`matchcast demo listening on ${address}`)
  print(`  board:  ${address}/${config.signIn ? '  (sign in as any member of the seed)' : '  (sign-in off: MATCHCAST_DEMO_SIGN_IN=true turns it on)'}`)
  if (config.options.http?.docs !== false) {
    const docs = `${base}${config.options.http?.docsPrefix ?? '/docs'}`
    print(`  docs:   ${docs}  (OpenAPI ${docs}/json, AsyncAPI ${docs}/asyncapi.json)`)
  }
  print(`  rooms:  ${ws}/ws/matches/:matchId and ${ws}/ws/tournaments/:tournamentId`)
  if (config.devSecret) print(`  JWT secret (dev default, set MATCHCAST_JWT_SECRET): ${DEV_SECRET}`)
  for (const tournament of config.seed.tournaments) {
    const matches = config.seed.matches.filter((m) => m.tournamentId === tournament.id)
    print(`  tournament ${tournament.id} (${tournament.name}): matches ${matches.map((m) => `${m.id} [${m.participants.join(' vs ')}]`).join(', ') || 'none'}`)
  }
  const users = seedUsers(config.seed)
  if (config.devSecret || config.demoSeed) {
    print('  tokens (12 h):')
    for (const [userId, roles] of users) print(`    ${userId.padEnd(8)} ${roles.join(', ').padEnd(24)} ${demoToken(config, userId)}`)
    const [first] = config.seed.matches
    if (first !== undefined) print(`  try: npx -y wscat -c '${ws}/ws/matches/${first.id}' -H 'Authorization: Bearer <token>'`)
  } else {
    print(`  users: ${[...users.keys()].join(', ') || 'none'}`)
    print('  a token for a user: npx matchcast token <userId> (with the same MATCHCAST_JWT_SECRET)')
  }
  return app
}

const USAGE = `usage: matchcast            start the demo server (configured by MATCHCAST_* variables, see the README)
       matchcast token <id>  print a 12 h token for user <id> (MATCHCAST_JWT_SECRET, else the dev secret)`

/** The \`matchcast\` command. Resolves the process's exit code, or the running server. */
export async function cli (args: readonly string[], env: Env, out: (line: string) => void, err: (line: string) => void,
  start: StartOptions = {}): Promise<number | FastifyInstance> {
  const [command, ...rest] = args
  if (command === undefined || command === 'start') return await main(env, out, start)
  if (command === 'token' && rest.length === 1) {
    const config = loadConfig(env)
    const userId = rest[0]!
    if (!seedUsers(config.seed).has(userId)) err(`matchcast: ${userId} is not a member of any tournament of the seed; the token is valid, but opens no room`)
    out(demoToken(config, userId))
    return 0
  }
  if (command === 'help' || command === '--help' || command === '-h') {
    out(USAGE)
    return 0
  }
  err(USAGE)
  return 2
}
