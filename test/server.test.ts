import { generateKeyPairSync } from 'node:crypto'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { DEV_SECRET, cli, createServer, demoToken, loadConfig, main } from '../server.js'
import { Client, collectLogs, until } from './helper.js'

const dir = mkdtempSync(join(tmpdir(), 'matchcast-server-'))

t.test('defaults: port 3000 on 127.0.0.1, dev secret, demo seed', async (t) => {
  const config = loadConfig({})
  t.match(config, { port: 3000, host: '127.0.0.1', connectionTimeoutMs: 10_000, requestTimeoutMs: 30_000, devSecret: true, demoSeed: true, signIn: true, logLevel: 'info', options: { auth: { secret: DEV_SECRET } } })
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
    MATCHCAST_DEMO_SIGN_IN: 'true',
    MATCHCAST_JWT_REQUIRE_EXP: 'false',
    MATCHCAST_JWT_CLOCK_TOLERANCE_MS: '2000',
    MATCHCAST_SEED: seedPath,
    MATCHCAST_BATCH_WINDOW_MS: '10',
    MATCHCAST_BATCH_MAX: '7',
    MATCHCAST_HISTORY_SIZE: '50',
    MATCHCAST_HISTORY_TTL_MS: '1000',
    MATCHCAST_OUTBOX_LEASE_MS: '2000',
    MATCHCAST_OUTBOX_SWEEP_INTERVAL_MS: '250',
    MATCHCAST_HISTORY_FINISHED_TTL_MS: '2000',
    MATCHCAST_HISTORY_IDLE_TTL_MS: '3000',
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
    MATCHCAST_LEASE_SIZE: '2',
    MATCHCAST_HTTP_RATE_MAX: '50',
    MATCHCAST_HTTP_RATE_WINDOW_MS: '10000',
    MATCHCAST_BACKPRESSURE_HIGH_WATER_MARK: '1000',
    MATCHCAST_BACKPRESSURE_HARD_LIMIT: '2000',
    MATCHCAST_BACKPRESSURE_GRACE_MS: '100',
    MATCHCAST_TRANSPORT_MAX_PAYLOAD_BYTES: '65536',
    MATCHCAST_IDEMPOTENCY_TTL_MS: '1000',
    MATCHCAST_COMMAND_ID_TTL_MS: '60000',
    MATCHCAST_IDEMPOTENCY_LEASE_MS: '3000',
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
    signIn: true,
    logLevel: 'warn',
    seed: { tournaments: [{ id: 'x' }] },
    options: {
      auth: { secret: 's3cret', requireExp: false, clockToleranceMs: 2000 },
      batching: { windowMs: 10, maxBatch: 7 },
      history: { size: 50, ttlMs: 1000, finishedTtlMs: 2000, idleTtlMs: 3000 },
      outbox: { leaseMs: 2000, sweepIntervalMs: 250 },
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
        leaseSize: 2,
        http: { max: 50, timeWindowMs: 10000 }
      },
      backpressure: { highWaterMark: 1000, hardLimit: 2000, graceMs: 100 },
      transportMaxPayloadBytes: 65536,
      http: { idempotencyTtlMs: 1000, idempotencyLeaseMs: 3000, readinessTimeoutMs: 500, docs: false },
      commandIdTtlMs: 60000,
      heartbeat: { intervalMs: 0 },
      allowedOrigins: ['https://a.example', 'https://b.example'],
      closeGraceMs: 100,
      storeTimeoutMs: 700,
      certificates: { privateKey: /BEGIN PRIVATE KEY/, publicUrl: 'https://cups.example.com', issuer: 'Spring League' }
    }
  })
})

t.test('MATCHCAST_REDIS_CLUSTER_NODES: the startup nodes of a Redis Cluster', async (t) => {
  t.same(loadConfig({ MATCHCAST_REDIS_CLUSTER_NODES: ' 10.0.0.1:7000, redis-b:7001 ,[::1]:7002,' }).options.redis,
    { cluster: [{ host: '10.0.0.1', port: 7000 }, { host: 'redis-b', port: 7001 }, { host: '::1', port: 7002 }] })
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
    [{ MATCHCAST_DEMO_SIGN_IN: 'maybe' }, /^MATCHCAST_DEMO_SIGN_IN: expected true or false/],
    [{ MATCHCAST_CERTIFICATE_KEY_FILE: join(dir, 'nokey.pem') }, /^MATCHCAST_CERTIFICATE_KEY_FILE: cannot read/],
    [{ MATCHCAST_REDIS_CLUSTER_NODES: ' , ' }, /^MATCHCAST_REDIS_CLUSTER_NODES: expected a comma list of host:port, got none/],
    [{ MATCHCAST_REDIS_CLUSTER_NODES: '127.0.0.1' }, /^MATCHCAST_REDIS_CLUSTER_NODES: expected a comma list of host:port, got "127.0.0.1"/],
    [{ MATCHCAST_REDIS_CLUSTER_NODES: 'a:7000,b:99999' }, /^MATCHCAST_REDIS_CLUSTER_NODES: expected a comma list of host:port, got "b:99999"/],
    [{ MATCHCAST_REDIS_CLUSTER_NODES: 'a:7000', REDIS_URL: 'redis://a' }, /^MATCHCAST_REDIS_CLUSTER_NODES: set either it .* or REDIS_URL/],
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
    [{ MATCHCAST_HISTORY_FINISHED_TTL_MS: '-1' }, /^MATCHCAST_HISTORY_FINISHED_TTL_MS: .*history\.finishedTtlMs/],
    [{ MATCHCAST_HTTP_RATE_MAX: '0' }, /^MATCHCAST_HTTP_RATE_MAX: .*rateLimit\.http\.max/],
    [{ MATCHCAST_BACKPRESSURE_HARD_LIMIT: '0' }, /^MATCHCAST_BACKPRESSURE_HARD_LIMIT: /],
    [{ MATCHCAST_STORE_TIMEOUT_MS: '0' }, /^MATCHCAST_STORE_TIMEOUT_MS: .*store\.timeoutMs: must be >= 1/],
    [{ MATCHCAST_MAX_CONNECTIONS_PER_IP: '-1' }, /^MATCHCAST_MAX_CONNECTIONS_PER_IP: .*rateLimit\.maxConnectionsPerIp: must be >= 0/],
    [{ MATCHCAST_OUTBOX_LEASE_MS: '10' }, /^MATCHCAST_OUTBOX_LEASE_MS: .*outbox\.leaseMs/],
    [{ MATCHCAST_IDEMPOTENCY_LEASE_MS: '10' }, /^MATCHCAST_IDEMPOTENCY_LEASE_MS: .*http\.idempotencyLeaseMs/]
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

t.test('main: prints the URLs, the seed ids and a token per seed user that opens a room', async (t) => {
  const lines: string[] = []
  const app = await main({ PORT: '0', MATCHCAST_LOG_LEVEL: 'silent' }, (line) => lines.push(line))
  t.teardown(() => app.close())
  const url = /listening on (http:\/\/\S+)/.exec(lines[0]!)![1]!
  const text = lines.join('\n')
  t.ok(text.includes(DEV_SECRET), 'the dev secret is printed')
  t.match(text, `docs:   ${url}/docs  (OpenAPI ${url}/docs/json, AsyncAPI ${url}/docs/asyncapi.json)`)
  t.match(text, 'tournament t1 (Spring Cup): matches m1 [u-a vs u-b], m2 [u-b vs u-c], m3 [u-a vs u-c]')
  t.match(text, `board:  ${url}/  (sign in as any member of the seed)`)
  const orgToken = lines.map((l) => /^\s+u-org\s+organizer of t1\s+(\S+)$/.exec(l)?.[1]).find(Boolean)!
  const c = new Client(`${url.replace('http', 'ws')}/ws/matches/m1`, { headers: { authorization: `Bearer ${orgToken}` } })
  t.teardown(() => c.close())
  t.match(await c.next(), { type: 'snapshot', role: 'organizer', match: { id: 'm1' } })
  t.match(text, `try: npx -y wscat -c '${url.replace('http', 'ws')}/ws/matches/m1'`)
})

t.test('main with a configured secret and seed prints the users and how to make a token, not the secret', async (t) => {
  const seedPath = join(dir, 'seed2.json')
  writeFileSync(seedPath, JSON.stringify({ tournaments: [{ id: 'cup', name: 'Cup' }], members: [{ tournamentId: 'cup', userId: 'ann', role: 'organizer' }], matches: [] }))
  const lines: string[] = []
  const app = await main({ PORT: '0', MATCHCAST_LOG_LEVEL: 'silent', MATCHCAST_JWT_SECRET: 'a-real-secret', MATCHCAST_SEED: seedPath, MATCHCAST_PREFIX: '/rt', MATCHCAST_DOCS: 'false' }, (line) => lines.push(line))
  t.teardown(() => app.close())
  const text = lines.join('\n')
  t.notOk(text.includes('a-real-secret'))
  t.notMatch(text, /docs:/)
  t.match(text, /rooms: {2}ws:\/\/127\.0\.0\.1:\d+\/rt\/ws\/matches\/:matchId/)
  t.match(text, 'tournament cup (Cup): matches none')
  t.match(text, '  users: ann\n  a token for a user: npx matchcast token <userId> (with the same MATCHCAST_JWT_SECRET)')
  t.notMatch(text, /eyJ/, 'no token')
  const url = /listening on (http:\/\/\S+)/.exec(lines[0]!)![1]!
  t.equal(lines[1], `  board:  ${url}/  (sign-in off: MATCHCAST_DEMO_SIGN_IN=true turns it on)`)
  t.equal((await fetch(`${url}/`)).status, 200, 'the board is served')
  t.equal((await fetch(`${url}/demo/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"userId":"ann"}' })).status, 404,
    'but with your own secret it mints no token')
})

t.test('main: the board is at / and its sign-in mints tokens for the demo seed\'s members', async (t) => {
  const lines: string[] = []
  const app = await main({ PORT: '0', MATCHCAST_LOG_LEVEL: 'silent' }, (line) => lines.push(line))
  t.teardown(() => app.close())
  const url = /listening on (http:\/\/\S+)/.exec(lines[0]!)![1]!
  t.equal(lines[1], `  board:  ${url}/  (sign in as any member of the seed)`)
  t.match(await (await fetch(`${url}/`)).text(), /<title>matchcast · live board<\/title>/)
  const res = await fetch(`${url}/demo/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"userId":"u-org"}' })
  t.equal(app.jwt.decode<{ sub: string }>((await res.json() as { token: string }).token)!.sub, 'u-org')
})

t.test('main with a docs prefix prints where the docs are; a seed without users says so', async (t) => {
  const seedPath = join(dir, 'seed3.json')
  writeFileSync(seedPath, JSON.stringify({ tournaments: [{ id: 'cup', name: 'Cup' }], members: [], matches: [] }))
  const lines: string[] = []
  const app = await main({ PORT: '0', MATCHCAST_LOG_LEVEL: 'silent', MATCHCAST_JWT_SECRET: 'a-real-secret', MATCHCAST_SEED: seedPath, MATCHCAST_DOCS_PREFIX: '/api-docs' }, (line) => lines.push(line))
  t.teardown(() => app.close())
  const text = lines.join('\n')
  t.match(text, /docs: {3}http:\/\/127\.0\.0\.1:\d+\/api-docs {2}\(OpenAPI http:\/\/127\.0\.0\.1:\d+\/api-docs\/json/)
  const { port } = app.server.address() as { port: number }
  t.equal((await fetch(`http://127.0.0.1:${port}/api-docs/json`)).status, 200, 'the printed docs URL answers')
  t.match(text, '  users: none\n')
})

t.test('matchcast token <userId> prints a token the server accepts', async (t) => {
  const env = { PORT: '0', MATCHCAST_LOG_LEVEL: 'silent', MATCHCAST_JWT_SECRET: 'cli-secret' }
  const out: string[] = []
  const err: string[] = []
  t.equal(await cli(['token', 'u-fan'], env, (l) => out.push(l), (l) => err.push(l)), 0)
  t.same(err, [])
  const app = await cli([], env, () => {}, () => {}) as FastifyInstance
  t.teardown(() => app.close())
  const { port } = app.server.address() as { port: number }
  const c = new Client(`ws://127.0.0.1:${port}/ws/matches/m1`, { headers: { authorization: `Bearer ${out[0]}` } })
  t.teardown(() => c.close())
  t.match(await c.next(), { type: 'snapshot', role: 'spectator' })
  t.equal(await cli(['token', 'nobody'], env, (l) => out.push(l), (l) => err.push(l)), 0)
  t.match(err[0], 'nobody is not a member of any tournament of the seed')
  t.equal(out.length, 2, 'a token all the same')
})

t.test('matchcast help, and a wrong command prints the usage and fails', async (t) => {
  const out: string[] = []
  const err: string[] = []
  t.equal(await cli(['--help'], {}, (l) => out.push(l), (l) => err.push(l)), 0)
  t.match(out[0], /matchcast token <id>/)
  t.equal(await cli(['token'], {}, (l) => out.push(l), (l) => err.push(l)), 2)
  t.equal(await cli(['serve'], {}, (l) => out.push(l), (l) => err.push(l)), 2)
  t.equal(err.length, 2)
})

t.test('a seed whose match participant is not a member of its tournament fails the start naming both', async (t) => {
  const seedPath = join(dir, 'outsider.json')
  writeFileSync(seedPath, JSON.stringify({
    tournaments: [{ id: 't1', name: 'Cup' }],
    members: [{ tournamentId: 't1', userId: 'u-a', role: 'participant' }],
    matches: [{ id: 'm7', tournamentId: 't1', participants: ['u-a', 'u-z'] }]
  }))
  t.throws(() => loadConfig({ MATCHCAST_SEED: seedPath }), { message: 'MATCHCAST_SEED: match m7: participant u-z is not a member of tournament t1' })
  const malformed = join(dir, 'malformed.json')
  writeFileSync(malformed, JSON.stringify({ matches: 3 }))
  await t.rejects(createServer(loadConfig({ MATCHCAST_SEED: malformed })), { message: /^MATCHCAST_SEED: .*seed\/matches/ }, 'a malformed seed is left to the schema check')
})

t.test('pretty logs on a terminal; one line per room connection opened and closed, never the token', async (t) => {
  const app = await main({ PORT: '0', MATCHCAST_LOG_LEVEL: 'info' }, () => {}, { pretty: true })
  t.teardown(() => app.close())
  t.ok(app.log, 'starts with pino-pretty as its transport')
  const { lines, logger } = collectLogs()
  const config = loadConfig({ PORT: '0' })
  const logged = await createServer(config, logger)
  t.teardown(() => logged.close())
  await logged.listen({ port: 0, host: '127.0.0.1' })
  const { port } = logged.server.address() as { port: number }
  const secret = demoToken(config, 'u-a')
  const c = new Client(`ws://127.0.0.1:${port}/ws/matches/m1?token=${secret}`)
  await c.next()
  await c.close()
  await until(() => lines.some((l) => l.msg === 'room connection closed'))
  t.match(lines.find((l) => l.msg === 'room connection opened'), { userId: 'u-a', room: '/ws/matches/m1', role: 'participant' })
  t.match(lines.find((l) => l.msg === 'room connection closed'), { userId: 'u-a', room: '/ws/matches/m1', code: 1000, reason: '' })
  t.notOk(JSON.stringify(lines).includes(secret), 'the token is not logged')
})
