/**
 * A query token is redacted by the name Fastify decodes, not by its spelling in the URL:
 * `?%74oken=` is `token` to Fastify, so it is the query token; `?TOKEN=` / `?%54oken=` are not
 * accepted, but are removed all the same. None of them reaches a log line or `request.query`.
 */
import Fastify from 'fastify'
import t from 'tap'
import matchcast from '../../index.js'
import { SECRET, client, collectLogs, startApp, token } from '../helper.js'

async function echoApp (t: Parameters<typeof startApp>[0]) {
  const { lines, logger } = collectLogs()
  const started = await startApp(t, {}, undefined, { logger })
  return { ...started, lines, http: started.wsUrl.replace(/^ws/, 'http') }
}

t.test('a percent-encoded token name is redacted from the log and request.query, and still authenticates', async (t) => {
  const { app, wsUrl, lines } = await echoApp(t)
  const secret = token('u-org')
  const c = client(t, wsUrl, `/ws/matches/m1?%74oken=${secret}&lastSeq=0&epoch=x`)
  t.match(await c.next(), { type: 'snapshot', role: 'organizer', resync: true }, 'the token was read; lastSeq and epoch survived')
  const mixed = client(t, wsUrl, `/ws/matches/m1?to%6B%65n=${secret}`)
  t.match(await mixed.next(), { type: 'snapshot', role: 'organizer' })
  await app.close()
  t.ok(lines.some((l) => JSON.stringify(l).includes('/ws/matches/m1?lastSeq=0&epoch=x')), 'the request was logged')
  t.notOk(lines.some((l) => JSON.stringify(l).includes(secret)), 'without its token')
})

t.test('other spellings of the name (any case, any encoding) are removed, not accepted', async (t) => {
  const { app, wsUrl, lines } = await echoApp(t)
  const secret = token('u-org')
  for (const name of ['TOKEN', '%54oken', 'Token', 'tOKEN', '%54%4F%4B%45%4E']) {
    const c = client(t, wsUrl, `/ws/matches/m1?${name}=${secret}`)
    t.same(await c.closeInfo(), { code: 4001, reason: 'unauthorized' }, `?${name}= is not a token`)
  }
  await app.close()
  t.notOk(lines.some((l) => JSON.stringify(l).includes(secret)), 'none reached the log')
})

t.test('HTTP requests: request.query never holds a token, whatever its spelling; other parameters stay as sent', async (t) => {
  const { lines, logger } = collectLogs()
  const echo = Fastify({ logger })
  t.teardown(() => echo.close())
  await echo.register(matchcast, { auth: { secret: SECRET }, heartbeat: { intervalMs: 0 } })
  echo.get('/echo', async (request) => ({ query: request.query, url: request.url }))
  const base = await echo.listen({ port: 0, host: '127.0.0.1' })
  const secret = token('u-a')
  const cases: Array<[string, unknown]> = [
    [`a=%7E&%74oken=${secret}&b=1`, { query: { a: '~', b: '1' }, url: '/echo?a=%7E&b=1' }],
    [`TOKEN=${secret}&%54oken=${secret}&token=${secret}`, { query: {}, url: '/echo' }],
    [`to+ken=keep&token=${secret}&x`, { query: { 'to ken': 'keep', x: '' }, url: '/echo?to+ken=keep&x' }],
    [`%E0%A4%A=1&tok%65n=${secret}`, { query: { '%E0%A4%A': '1' }, url: '/echo?%E0%A4%A=1' }],
    ['token&a=1', { query: { a: '1' }, url: '/echo?a=1' }],
    ['a=1&tokens=2&atoken=3', { query: { a: '1', tokens: '2', atoken: '3' }, url: '/echo?a=1&tokens=2&atoken=3' }]
  ]
  for (const [query, expected] of cases) {
    const res = await fetch(`${base}/echo?${query}`)
    t.same(await res.json(), expected, query.replaceAll(secret, '<jwt>'))
  }
  await echo.close()
  t.notOk(lines.some((l) => JSON.stringify(l).includes(secret)), 'no token in any log line')
})
