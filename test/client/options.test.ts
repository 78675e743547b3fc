/** connect()'s options: defaults, URL forms, and a clear error naming each bad option. */
import t from 'tap'
import WebSocket from 'ws'
import { connect, MatchcastError, type ConnectOptions } from '../../client/index.js'
import { resolveOptions } from '../../client/options.js'

const base: ConnectOptions = { url: 'wss://api.example.com', token: () => 'jwt', WebSocket }

t.test('defaults, and the URL as a ws: or wss: base without a trailing slash', async (t) => {
  const resolved = resolveOptions(base)
  t.match(resolved, { base: 'wss://api.example.com', backoff: { minMs: 500, maxMs: 20_000, factor: 2 }, pingIntervalMs: 20_000, pongTimeoutMs: 10_000, commandIdTtlMs: 300_000 })
  t.equal(resolveOptions({ ...base, url: 'https://api.example.com/live/' }).base, 'wss://api.example.com/live')
  t.equal(resolveOptions({ ...base, url: 'http://127.0.0.1:3000' }).base, 'ws://127.0.0.1:3000')
  t.equal(resolveOptions({ ...base, url: 'ws://h:1/' }).base, 'ws://h:1')
  t.same(resolveOptions({ ...base, backoff: { minMs: 30_000 } }).backoff, { minMs: 30_000, maxMs: 30_000, factor: 2 }, 'maxMs follows a larger minMs')
})

t.test('each bad option fails connect() with invalid_options naming it', async (t) => {
  const cases: Array<[Record<string, unknown>, RegExp]> = [
    [{ url: 'not a url' }, /^url: must be an absolute URL/],
    [{ url: 'ftp://example.com' }, /^url: must be a ws:, wss:, http: or https: URL/],
    [{ url: 'wss://example.com/?token=x' }, /^url: must have no query or fragment/],
    [{ url: 'wss://example.com/#x' }, /^url: must have no query or fragment/],
    [{ token: 'jwt' }, /^token: must be a function/],
    [{ WebSocket: 'ws' }, /^WebSocket: there is no global WebSocket here/],
    [{ backoff: { minMs: 0 } }, /^backoff\.minMs: must be a number >= 1/],
    [{ backoff: { minMs: 100, maxMs: 50 } }, /^backoff\.maxMs: must be a number >= 100/],
    [{ backoff: { factor: 0.5 } }, /^backoff\.factor: must be a number >= 1/],
    [{ pingIntervalMs: -1 }, /^pingIntervalMs: must be a number >= 0/],
    [{ pongTimeoutMs: 0 }, /^pongTimeoutMs: must be a number >= 1/],
    [{ commandIdTtlMs: Number.NaN }, /^commandIdTtlMs: must be a number >= 0/],
    [{ commandIdTtlMs: '5' }, /^commandIdTtlMs: must be a number >= 0/]
  ]
  for (const [options, message] of cases) {
    t.throws(() => connect({ ...base, ...options } as unknown as ConnectOptions), { name: 'MatchcastError', code: 'invalid_options', message }, String(message))
  }
  t.ok(new MatchcastError('closed', 'x') instanceof Error)
})

t.test('without a WebSocket option the global one is used (Node 20 has none)', async (t) => {
  const { WebSocket: _ws, ...rest } = base
  const scope = globalThis as { WebSocket?: unknown }
  const had = scope.WebSocket
  t.teardown(() => { scope.WebSocket = had })
  scope.WebSocket = undefined
  t.throws(() => connect(rest), { code: 'invalid_options', message: /^WebSocket: there is no global WebSocket here; pass one/ })
  scope.WebSocket = WebSocket
  t.equal(resolveOptions(rest).WebSocket, WebSocket)
})
