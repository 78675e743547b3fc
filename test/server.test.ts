import { generateKeyPairSync } from 'node:crypto'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { DEV_SECRET, createServer, loadConfig, main } from '../server.js'
import { Client } from './helper.js'

const dir = mkdtempSync(join(tmpdir(), 'matchcast-server-'))

t.test('defaults: port 3000 on 127.0.0.1, dev secret, demo seed', async (t) => {
  const config = loadConfig({})
  t.match(config, { port: 3000, host: '127.0.0.1', connectionTimeoutMs: 10_000, requestTimeoutMs: 30_000, devSecret: true, demoSeed: true, logLevel: 'info', options: { auth: { secret: DEV_SECRET } } })
  t.equal(config.seed.tournaments[0]!.name, 'Spring Cup')
})

t.test('every variable maps onto its option', async (t) => {
  const seedPath = join(dir, 'seed.json')
  writeFileSync(seedPath, JSON.stringify({ tournaments: [{ id: 'x', name: 'X' }], members: [], matches: [] }))
  const keyPath = join(dir, 'key.pem')
  writeFileSync(keyPath, generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString())
  const config = loadConfig({
    PORT: '0',
    HOST: '::1',
    MATCHCAST_JWT_SECRET: 's3cret',
    MATCHCAST_JWT_REQUIRE_EXP: 'false',
    MATCHCAST_JWT_CLOCK_TOLERANCE_MS: '2000',
    MATCHCAST_SEED: seedPath,
    MATCHCAST_BATCH_WINDOW_MS: '10',
    MATCHCAST_BATCH_MAX: '7',
    MATCHCAST_HISTORY_SIZE: '50',
    MATCHCAST_HISTORY_TTL_MS: '1000',
    MATCHCAST_MAX_CONNECTIONS_PER_USER: '2',
    MATCHCAST_MESSAGES_PER_SECOND: '2.5',
    MATCHCAST_BURST: '4',
    MATCHCAST_MAX_PAYLOAD_BYTES: '1024',
    MATCHCAST_HEARTBEAT_INTERVAL_MS: '0',
    MATCHCAST_ALLOWED_ORIGINS: 'https://a.example, https://b.example,',
    MATCHCAST_CLOSE_GRACE_MS: '100',
    MATCHCAST_CERTIFICATE_KEY_FILE: keyPath,
    MATCHCAST_LOG_LEVEL: 'warn',
    REDIS_URL: 'redis://127.0.0.1:6390',
    MATCHCAST_KEY_PREFIX: 'demo',
    MATCHCAST_UPGRADES_PER_IP: '900',
    MATCHCAST_UPGRADE_WINDOW_MS: '30000',
    MATCHCAST_MAX_CONNECTIONS_PER_IP: '50',
    MATCHCAST_CONNECTION_TIMEOUT_MS: '5000',
    MATCHCAST_REQUEST_TIMEOUT_MS: '0',
    MATCHCAST_CONNECTION_TTL_MS: '60000',
    MATCHCAST_REDIS_TIMEOUT_MS: '150',
    MATCHCAST_REDIS_PROBE_INTERVAL_MS: '500',
    MATCHCAST_HTTP_RATE_MAX: '50',
    MATCHCAST_HTTP_RATE_WINDOW_MS: '10000',
    MATCHCAST_BACKPRESSURE_HIGH_WATER_MARK: '1000',
    MATCHCAST_BACKPRESSURE_HARD_LIMIT: '2000',
    MATCHCAST_BACKPRESSURE_GRACE_MS: '100',
    MATCHCAST_TRANSPORT_MAX_PAYLOAD_BYTES: '65536',
    MATCHCAST_IDEMPOTENCY_TTL_MS: '1000',
    MATCHCAST_READINESS_TIMEOUT_MS: '500',
    MATCHCAST_STORE_TIMEOUT_MS: '700',
    MATCHCAST_DOCS: 'false',
    MATCHCAST_PUBLIC_URL: 'https://cups.example.com',
    MATCHCAST_CERTIFICATE_ISSUER: 'Spring League'
  })
  t.match(config, {
    port: 0,
    host: '::1',
    connectionTimeoutMs: 5000,
    requestTimeoutMs: 0,
    devSecret: false,
    demoSeed: false,
    logLevel: 'warn',
    seed: { tournaments: [{ id: 'x' }] },
    options: {
      auth: { secret: 's3cret', requireExp: false, clockToleranceMs: 2000 },
      batching: { windowMs: 10, maxBatch: 7 },
      history: { size: 50, ttlMs: 1000 },
      redis: 'redis://127.0.0.1:6390',
      keyPrefix: 'demo',
      rateLimit: {
        maxConnectionsPerUser: 2,
        messagesPerSecond: 2.5,
        burst: 4,
        maxPayloadBytes: 1024,
        upgradesPerIp: 900,
        upgradeWindowMs: 30000,
        maxConnectionsPerIp: 50,
        connectionTtlMs: 60000,
        redisTimeoutMs: 150,
        redisProbeIntervalMs: 500,
        http: { max: 50, timeWindowMs: 10000 }
      },
      backpressure: { highWaterMark: 1000, hardLimit: 2000, graceMs: 100 },
      transportMaxPayloadBytes: 65536,
      http: { idempotencyTtlMs: 1000, readinessTimeoutMs: 500, docs: false },
      heartbeat: { intervalMs: 0 },
      allowedOrigins: ['https://a.example', 'https://b.example'],
      closeGraceMs: 100,
      storeTimeoutMs: 700,
      certificates: { privateKey: /BEGIN PRIVATE KEY/, publicUrl: 'https://cups.example.com', issuer: 'Spring League' }
    }
  })
})

t.test('a bad value stops the start with a message naming the variable', async (t) => {
  const bad: Array<[Record<string, string>, RegExp]> = [
    [{ PORT: 'eighty' }, /^PORT: expected an integer/],
    [{ PORT: '70000' }, /^PORT: expected 0-65535/],
    [{ MATCHCAST_BATCH_WINDOW_MS: '5ms' }, /^MATCHCAST_BATCH_WINDOW_MS: expected an integer/],
    [{ MATCHCAST_MESSAGES_PER_SECOND: 'lots' }, /^MATCHCAST_MESSAGES_PER_SECOND: expected a number/],
    [{ MATCHCAST_SEED: join(dir, 'missing.json') }, /^MATCHCAST_SEED: cannot read/],
    [{ MATCHCAST_CLOSE_GRACE_MS: 'x' }, /^MATCHCAST_CLOSE_GRACE_MS: expected an integer/],
    [{ MATCHCAST_DOCS: 'yes' }, /^MATCHCAST_DOCS: expected true or false/],
    [{ MATCHCAST_JWT_REQUIRE_EXP: 'no' }, /^MATCHCAST_JWT_REQUIRE_EXP: expected true or false/],
    [{ MATCHCAST_CERTIFICATE_KEY_FILE: join(dir, 'nokey.pem') }, /^MATCHCAST_CERTIFICATE_KEY_FILE: cannot read/],
    [{ MATCHCAST_CONNECTION_TIMEOUT_MS: '-1' }, /^MATCHCAST_CONNECTION_TIMEOUT_MS: expected 0 or more, got -1/],
    [{ MATCHCAST_REQUEST_TIMEOUT_MS: '30s' }, /^MATCHCAST_REQUEST_TIMEOUT_MS: expected an integer/]
  ]
  for (const [env, message] of bad) t.throws(() => loadConfig(env), { message })
})

t.test('an out-of-range value fails at registration, still naming the variable', async (t) => {
  const badSeed = join(dir, 'bad-seed.json')
  writeFileSync(badSeed, JSON.stringify({ tournaments: [{ id: 'x' }] }))
  const keyPath = join(dir, 'rsa.pem')
  writeFileSync(keyPath, 'not a key')
  const bad: Array<[Record<string, string>, RegExp]> = [
    [{ MATCHCAST_BATCH_WINDOW_MS: '-1' }, /^MATCHCAST_BATCH_WINDOW_MS: .*batching\.windowMs: must be >= 0/],
    [{ MATCHCAST_BURST: '0' }, /^MATCHCAST_BURST: /],
    [{ MATCHCAST_SEED: badSeed }, /^MATCHCAST_SEED: .*seed/],
    [{ MATCHCAST_CERTIFICATE_KEY_FILE: keyPath }, /^MATCHCAST_CERTIFICATE_KEY_FILE: /],
    [{ MATCHCAST_PUBLIC_URL: 'cups.example.com' }, /^MATCHCAST_PUBLIC_URL: .*certificates\.publicUrl: /],
    [{ MATCHCAST_CLOSE_GRACE_MS: '0' }, /^MATCHCAST_CLOSE_GRACE_MS: /],
    [{ MATCHCAST_JWT_CLOCK_TOLERANCE_MS: '-5' }, /^MATCHCAST_JWT_CLOCK_TOLERANCE_MS: .*auth\.clockToleranceMs: /],
    [{ REDIS_URL: 'localhost:6379' }, /^REDIS_URL: .*redis: must be a redis:\/\//],
    [{ MATCHCAST_HTTP_RATE_MAX: '0' }, /^MATCHCAST_HTTP_RATE_MAX: .*rateLimit\.http\.max/],
    [{ MATCHCAST_BACKPRESSURE_HARD_LIMIT: '0' }, /^MATCHCAST_BACKPRESSURE_HARD_LIMIT: /],
    [{ MATCHCAST_STORE_TIMEOUT_MS: '0' }, /^MATCHCAST_STORE_TIMEOUT_MS: .*store\.timeoutMs: must be >= 1/],
    [{ MATCHCAST_MAX_CONNECTIONS_PER_IP: '-1' }, /^MATCHCAST_MAX_CONNECTIONS_PER_IP: .*rateLimit\.maxConnectionsPerIp: must be >= 0/]
  ]
  for (const [env, message] of bad) {
    await t.rejects(createServer(loadConfig(env)), { message })
  }
})

t.test('the server timeouts are set on the demo server\'s HTTP server', async (t) => {
  const app = await createServer(loadConfig({ MATCHCAST_CONNECTION_TIMEOUT_MS: '1234', MATCHCAST_REQUEST_TIMEOUT_MS: '4321', MATCHCAST_LOG_LEVEL: 'silent' }))
  t.teardown(() => app.close())
  t.equal(app.server.timeout, 1234)
  t.equal(app.server.requestTimeout, 4321)
})

t.test('an error that no variable explains keeps its own message', async (t) => {
  const config = loadConfig({})
  ;(config.options.auth as Record<string, unknown>).algorithm = 'none'
  await t.rejects(createServer(config), { message: /^Invalid matchcast option auth\.algorithm/ })
})

t.test('main: listens, prints the URL and a token per demo user that opens a room', async (t) => {
  const lines: string[] = []
  const app = await main({ PORT: '0', MATCHCAST_LOG_LEVEL: 'silent' }, (line) => lines.push(line))
  t.teardown(() => app.close())
  const url = /listening on (http:\/\/\S+)/.exec(lines[0]!)![1]!
  t.ok(lines.some((l) => l.includes(DEV_SECRET)), 'the dev secret is printed')
  const orgToken = lines.map((l) => /^\s+u-org\s+organizer\s+(\S+)$/.exec(l)?.[1]).find(Boolean)!
  const c = new Client(`${url.replace('http', 'ws')}/ws/matches/m1`, { headers: { authorization: `Bearer ${orgToken}` } })
  t.teardown(() => c.close())
  t.match(await c.next(), { type: 'snapshot', role: 'organizer', match: { id: 'm1' } })
})

t.test('main with a configured secret and seed prints neither the secret nor tokens', async (t) => {
  const seedPath = join(dir, 'seed2.json')
  writeFileSync(seedPath, JSON.stringify({ tournaments: [], members: [], matches: [] }))
  const lines: string[] = []
  const app = await main({ PORT: '0', MATCHCAST_LOG_LEVEL: 'silent', MATCHCAST_JWT_SECRET: 'a-real-secret', MATCHCAST_SEED: seedPath }, (line) => lines.push(line))
  t.teardown(() => app.close())
  t.equal(lines.length, 2)
  t.notOk(lines.join('\n').includes('a-real-secret'))
})
