/**
 * Tokens must expire and must not come from the future: a token without `exp` is refused (unless
 * `auth.requireExp: false`), and `iat` / `nbf` later than now plus `auth.clockToleranceMs` are
 * refused. WebSocket: close 4001; HTTP: 401.
 */
import { createHmac } from 'node:crypto'
import Fastify from 'fastify'
import t from 'tap'
import { matchcastAuth, type MatchcastOptions } from '../../index.js'
import { SECRET, client, startApp } from '../helper.js'

/** HS256 over exactly `payload` (signers add or rewrite time claims; these tests need them as written). */
function sign (payload: object): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url')
  const input = `${part({ alg: 'HS256', typ: 'JWT' })}.${part(payload)}`
  return `${input}.${createHmac('sha256', SECRET).update(input).digest('base64url')}`
}
const now = () => Math.floor(Date.now() / 1000)
/** A token for u-org with exactly these time claims (seconds from now; absent = not in the token). */
function tokenWith (claims: { iat?: number | string, nbf?: number, exp?: number }): string {
  const at = (offset: number | string | undefined) => typeof offset === 'number' ? now() + offset : offset
  return sign({ sub: 'u-org', iat: at(claims.iat), nbf: at(claims.nbf), exp: at(claims.exp) })
}

/** How a token fares on both transports: the WebSocket close code (or 'admitted') and the HTTP status. */
async function outcome (t: Parameters<typeof startApp>[0], auth: Partial<MatchcastOptions['auth']>, jwt: string) {
  const { app, wsUrl } = await startApp(t, { auth: { secret: SECRET, ...auth } })
  const c = client(t, wsUrl, '/ws/matches/m1', { headers: { authorization: `Bearer ${jwt}` } })
  const ws = await c.next().then(() => 'admitted', async () => (await c.closeInfo()).code)
  const res = await app.inject({ url: '/matches/m1', headers: { authorization: `Bearer ${jwt}` } })
  return { ws, http: res.statusCode, message: res.statusCode === 401 ? (res.json() as { message: string }).message : undefined }
}

const refused = { ws: 4001, http: 401 }
const admitted = { ws: 'admitted', http: 200 }

t.test('a token without exp is refused by default', async (t) => {
  t.match(await outcome(t, {}, tokenWith({ iat: 0 })), { ...refused, message: /exp/ })
})

t.test('auth.requireExp: false accepts a token without exp (an expired one is still refused)', async (t) => {
  t.match(await outcome(t, { requireExp: false }, tokenWith({ iat: 0 })), admitted)
  t.match(await outcome(t, { requireExp: false }, tokenWith({ iat: -120, exp: -60 })), refused)
})

t.test('an iat in the future beyond the tolerance is refused; within it, accepted', async (t) => {
  t.match(await outcome(t, {}, tokenWith({ iat: 60, exp: 3600 })), { ...refused, message: /iat/ })
  t.match(await outcome(t, {}, tokenWith({ iat: 2, exp: 3600 })), admitted, 'the default tolerance covers 2 s of skew')
  // Margins of tens of seconds, so a loaded machine's delay between signing and verifying cannot flip them.
  t.match(await outcome(t, { clockToleranceMs: 1000 }, tokenWith({ iat: 30, exp: 3600 })), refused)
  t.match(await outcome(t, { clockToleranceMs: 60_000 }, tokenWith({ iat: 30, exp: 3600 })), admitted, 'a wider tolerance admits it')
})

t.test('an iat that is not a number is refused', async (t) => {
  t.match(await outcome(t, {}, tokenWith({ iat: 'yesterday', exp: 3600 })), { ...refused, message: /iat/ })
})

t.test('an nbf in the future beyond the tolerance is refused; within it, accepted', async (t) => {
  t.match(await outcome(t, {}, tokenWith({ nbf: 60, exp: 3600 })), refused)
  t.match(await outcome(t, {}, tokenWith({ nbf: 2, exp: 3600 })), admitted)
})

t.test('an exp just past is within the tolerance; further past, refused', async (t) => {
  // A tolerance far wider than any delay between signing and verifying, so load cannot flip it.
  t.match(await outcome(t, { clockToleranceMs: 120_000 }, tokenWith({ iat: -60, exp: -20 })), admitted)
  t.match(await outcome(t, {}, tokenWith({ iat: -60, exp: -20 })), refused)
})

t.test('requireExp and clockToleranceMs are validated at registration, naming the option', async (t) => {
  const cases: Array<[Record<string, unknown>, RegExp]> = [
    [{ secret: SECRET, requireExp: 'yes' }, /auth\.requireExp: /],
    [{ secret: SECRET, clockToleranceMs: -1 }, /auth\.clockToleranceMs: /],
    [{ secret: SECRET, clockToleranceMs: 1.5 }, /auth\.clockToleranceMs: /]
  ]
  for (const [options, message] of cases) {
    const app = Fastify()
    await t.rejects(async () => { await app.register(matchcastAuth, options as never).ready() }, { code: 'MATCHCAST_ERR_INVALID_OPTS', message })
    await app.close()
  }
})
