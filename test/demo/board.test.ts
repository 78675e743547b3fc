import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Fastify from 'fastify'
import t from 'tap'
import { demoBoard, demoUsers, boardScript, WEB_DIR, type BoardOptions } from '../../demo/board.js'
import matchcast, { memoryStore, type MatchcastOptions, type Seed } from '../../index.js'
import { Client, SECRET, testSeed, type TapLike } from '../helper.js'

/** matchcast and the board on a fresh app listening on a free port; closed at teardown. */
async function boardApp (t: TapLike, board: Partial<BoardOptions> = {}, options: Partial<MatchcastOptions> = {}) {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(matchcast, { auth: { secret: SECRET }, store: memoryStore(testSeed()), heartbeat: { intervalMs: 0 }, ...options })
  await app.register(demoBoard, { seed: testSeed(), signIn: true, ...board })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as { port: number }
  return { app, wsUrl: `ws://127.0.0.1:${port}` }
}

t.test('GET / serves the page with a strict content security policy; its script and style beside it', async (t) => {
  const { app } = await boardApp(t)
  const page = await app.inject({ url: '/' })
  t.equal(page.statusCode, 200)
  t.equal(page.headers['content-type'], 'text/html; charset=utf-8')
  t.match(page.headers['content-security-policy'], /default-src 'none'; script-src 'self'; style-src 'self';.*connect-src 'self'/)
  t.match(page.body, /<script type="module" src="board.js"><\/script>/)
  t.match(page.body, /<link rel="stylesheet" href="board.css">/)

  const script = await app.inject({ url: '/board.js' })
  t.equal(script.headers['content-type'], 'text/javascript; charset=utf-8')
  t.match(script.body, /demo\/config/, 'the page script, bundled')
  t.notMatch(script.body, /from\s*["'](node:|\.\.?\/)/, 'one file: no imports left to resolve')
  const style = await app.inject({ url: '/board.css' })
  t.equal(style.headers['content-type'], 'text/css; charset=utf-8')
  t.match(style.body, /--focus:/)
})

t.test('GET /demo/config lists the seed\'s members, organizers first, by name or id', async (t) => {
  const { app } = await boardApp(t)
  const res = await app.inject({ url: '/demo/config' })
  t.equal(res.statusCode, 200)
  const config = res.json()
  t.equal(config.signIn, true)
  t.equal(config.prefix, '')
  t.same(config.tournaments, testSeed().tournaments)
  t.same(config.users.map((u: { id: string }) => u.id), ['u-org', 'u-org2', 'u-x', 'u-a', 'u-b', 'u-c', 'u-fan'])
  t.same(config.users[0], { id: 'u-org', name: 'u-org', memberships: [{ tournamentId: 't1', role: 'organizer' }] })
})

t.test('demoUsers: a user in several tournaments is one choice with each membership; names from the seed\'s users', async (t) => {
  const seed = {
    tournaments: [],
    users: [{ id: 'u-b', name: 'Борис Łódź' }],
    members: [
      { tournamentId: 't2', userId: 'u-b', role: 'spectator' },
      { tournamentId: 't1', userId: 'u-b', role: 'organizer' },
      { tournamentId: 't1', userId: 'u-c', role: 'participant' },
      { tournamentId: 't1', userId: 'u-a', role: 'participant' }
    ],
    matches: []
  } as Seed
  t.same(demoUsers(seed), [
    { id: 'u-b', name: 'Борис Łódź', memberships: [{ tournamentId: 't2', role: 'spectator' }, { tournamentId: 't1', role: 'organizer' }] },
    { id: 'u-a', name: 'u-a', memberships: [{ tournamentId: 't1', role: 'participant' }] },
    { id: 'u-c', name: 'u-c', memberships: [{ tournamentId: 't1', role: 'participant' }] }
  ])
})

t.test('POST /demo/token mints a token for a member that opens a room as that member', async (t) => {
  const { app, wsUrl } = await boardApp(t)
  const res = await app.inject({ method: 'POST', url: '/demo/token', payload: { userId: 'u-fan' } })
  t.equal(res.statusCode, 200)
  t.equal(res.headers['cache-control'], 'no-store')
  const { token, expiresIn } = res.json()
  t.equal(expiresIn, 3600)
  const claims = app.jwt.decode<{ sub: string, iat: number, exp: number }>(token)!
  t.equal(claims.sub, 'u-fan')
  t.equal(claims.exp - claims.iat, 3600)

  const c = new Client(`${wsUrl}/ws/matches/m1`, { protocols: ['matchcast.v1', `bearer.${token}`] })
  t.teardown(() => c.close())
  t.match(await c.next(), { type: 'snapshot', matchId: 'm1', role: 'spectator' })
})

t.test('POST /demo/token refuses anyone outside the seed and bad bodies, minting nothing', async (t) => {
  const { app } = await boardApp(t, { tokenTtlS: 60 })
  const stranger = await app.inject({ method: 'POST', url: '/demo/token', payload: { userId: 'u-nobody' } })
  t.same(stranger.json(), { statusCode: 404, code: 'MATCHCAST_ERR_NOT_FOUND', error: 'Not Found', message: 'user u-nobody is not a member of the demo seed' })
  // A key spelled like a built-in property is an ordinary (unknown) user id.
  const proto = await app.inject({ method: 'POST', url: '/demo/token', payload: { userId: 'constructor' } })
  t.equal(proto.statusCode, 404)
  const cases: Array<[unknown, RegExp]> = [
    [{}, /^body must have required propert(y|ies) '?userId/],
    [{ userId: 42 }, /^body\/userId /],
    [{ userId: 'u-a', role: 'organizer' }, /^body\/role is not allowed/],
    [{ userId: 'bad id' }, /^body\/userId /]
  ]
  for (const [payload, message] of cases) {
    const res = await app.inject({ method: 'POST', url: '/demo/token', payload: payload as object })
    t.equal(res.statusCode, 400, JSON.stringify(payload))
    t.match(res.json(), { code: 'MATCHCAST_ERR_VALIDATION', message })
    t.notMatch(res.body, /eyJ/, 'no token in the answer')
  }
  const ok = await app.inject({ method: 'POST', url: '/demo/token', payload: { userId: 'u-a' } })
  t.equal(ok.json().expiresIn, 60)
})

t.test('POST /demo/token is rate limited per address like the side routes', async (t) => {
  const { app } = await boardApp(t, {}, { rateLimit: { http: { max: 2, timeWindowMs: 60_000 } } })
  const statuses = []
  for (let i = 0; i < 3; i++) statuses.push((await app.inject({ method: 'POST', url: '/demo/token', payload: { userId: 'u-a' } })).statusCode)
  t.same(statuses, [200, 200, 429])
})

t.test('sign-in off: no token route, and the page is told', async (t) => {
  const { app } = await boardApp(t, { signIn: false, matchcastPrefix: '/rt' })
  t.match((await app.inject({ url: '/demo/config' })).json(), { signIn: false, prefix: '/rt' })
  const res = await app.inject({ method: 'POST', url: '/demo/token', payload: { userId: 'u-a' } })
  t.equal(res.statusCode, 404)
  t.notMatch(res.body, /token"/)
})

t.test('a folder with a prebuilt board.js (what the build writes) serves it as it is', async (t) => {
  // What `npm run build` writes to dist/web: the page, its style and the bundled script.
  const dir = mkdtempSync(join(tmpdir(), 'matchcast-board-'))
  for (const file of ['index.html', 'board.css']) copyFileSync(join(WEB_DIR, file), join(dir, file))
  writeFileSync(join(dir, 'board.js'), 'console.log("prebuilt")')
  const { app } = await boardApp(t, { dir })
  t.equal((await app.inject({ url: '/board.js' })).body, 'console.log("prebuilt")')
  t.match((await app.inject({ url: '/' })).body, /<title>matchcast · live board<\/title>/)
})

t.test('a board script that bundles with warnings is refused', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'matchcast-board-'))
  writeFileSync(join(dir, 'board.ts'), 'export const x = { a: 1, a: 2 }\n')
  await t.rejects(boardScript(dir), { message: /Duplicate key "a"/ })
  t.ok((await boardScript(WEB_DIR)).length > 1000, 'the real page bundles cleanly')
})

t.test('invalid options fail at registration naming the option', async (t) => {
  const cases: Array<[Partial<BoardOptions>, RegExp]> = [
    [{ tokenTtlS: 10 }, /board\.tokenTtlS: must be >= 60/],
    [{ matchcastPrefix: 'rooms' }, /board\.matchcastPrefix: /],
    [{ dir: '' }, /board\.dir: /]
  ]
  for (const [options, message] of cases) {
    const app = Fastify()
    await app.register(matchcast, { auth: { secret: SECRET } })
    app.register(demoBoard, { seed: testSeed(), signIn: true, ...options })
    await t.rejects(async () => { await app.ready() }, { code: 'MATCHCAST_ERR_INVALID_OPTS', message })
    await app.close()
  }
})

t.test('sign-in without matchcast registered first fails at boot, naming what is missing', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  app.register(demoBoard, { seed: testSeed(), signIn: true })
  await t.rejects(async () => { await app.ready() }, { code: 'MATCHCAST_ERR_INVALID_OPTS', message: /board\.signIn: needs matchcast registered first \(no jwt decorator\)/ })
})
