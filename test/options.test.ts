import Fastify from 'fastify'
import t from 'tap'
import matchcast, {
  matchcastAuth, matchcastBroadcast, matchcastCertificates, matchcastHttpRoutes, matchcastMatches, matchcastPayouts, matchcastRateLimit,
  matchcastStore, matchcastWebsocket, matchcastWsRoutes, memoryStore
} from '../index.js'
import { SECRET } from './helper.js'

const cases: Array<[string, Record<string, unknown>, RegExp]> = [
  ['an unknown top-level option', { nope: 1 }, /option nope: unknown option/],
  ['no auth', { auth: undefined }, /auth\.secret: required/],
  ['a negative window', { batching: { windowMs: -1 } }, /broadcast\.batching\.windowMs: must be >= 0/],
  ['a fractional window', { batching: { windowMs: 1.5 } }, /batching\.windowMs: must be integer/],
  ['an unknown batching option', { batching: { windw: 5 } }, /batching\.windw: unknown option/],
  ['a zero connection limit', { rateLimit: { maxConnectionsPerUser: 0 } }, /rateLimit\.maxConnectionsPerUser: must be >= 1/],
  ['a non-numeric rate', { rateLimit: { messagesPerSecond: 'fast' } }, /rateLimit\.messagesPerSecond: must be number/],
  ['a negative heartbeat', { heartbeat: { intervalMs: -5 } }, /heartbeat\.intervalMs: must be >= 0/],
  ['origins that are not strings', { allowedOrigins: [1] }, /allowedOrigins\.0: must be string/],
  ['a store that is not a store', { store: { getMatch: 1 } }, /store: must implement the Store interface/],
  ['a bad seed', { store: 'seed' }, /store: must implement/],
  ['a bad certificate key', { certificates: { privateKey: 'x' } }, /certificates\.privateKey: not a PEM private key/],
  ['a public URL without a scheme', { certificates: { publicUrl: 'cups.example.com' } }, /certificates\.publicUrl: /],
  ['a public URL with a query', { certificates: { publicUrl: 'https://cups.example.com/?x=1' } }, /certificates\.publicUrl: /],
  ['an empty issuer', { certificates: { issuer: '' } }, /certificates\.issuer: /],
  ['an unknown certificates option', { certificates: { locale: 'fr' } }, /certificates\.locale: unknown option/],
  ['an unknown history option', { history: { depth: 1 } }, /history\.depth: unknown option/],
  ['a zero store timeout', { storeTimeoutMs: 0 }, /store\.timeoutMs: must be >= 1/],
  ['a fractional store timeout', { storeTimeoutMs: 2.5 }, /store\.timeoutMs: must be integer/]
]

for (const [name, options, message] of cases) {
  t.test(`${name} fails app.ready() with MATCHCAST_ERR_INVALID_OPTS naming it`, async (t) => {
    const app = Fastify()
    t.teardown(() => app.close())
    app.register(matchcast, { auth: { secret: SECRET }, ...options } as never)
    await t.rejects(async () => { await app.ready() }, { code: 'MATCHCAST_ERR_INVALID_OPTS', message })
  })
}

t.test('a bad seed fails naming the field', async (t) => {
  t.throws(() => memoryStore({ matches: [{ id: 'm', tournamentId: 't', participants: ['only-one'] }] }), {
    code: 'MATCHCAST_ERR_INVALID_OPTS', message: /store seed\/matches\/0\/participants: must not have fewer than 2 items/
  })
})

t.test('options are not mutated by defaults', async (t) => {
  const batching = { windowMs: 5 }
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(matchcast, { auth: { secret: SECRET }, batching })
  await app.ready()
  t.same(batching, { windowMs: 5 })
})

t.test('each plugin declares what it depends on: registered alone, it fails at boot', async (t) => {
  const alone = [
    [matchcastMatches, 'matchcast-store'], [matchcastPayouts, 'matchcast-store'], [matchcastWebsocket, 'matchcast-broadcast'],
    [matchcastWsRoutes, 'matchcast-auth'], [matchcastHttpRoutes, 'matchcast-auth']
  ] as const
  for (const [plugin, missing] of alone) {
    const app = Fastify()
    app.register(plugin as never)
    await t.rejects(async () => { await app.ready() }, { message: new RegExp(missing) })
    await app.close()
  }
})

t.test('the plugins compose by hand, with a host-provided store that the host closes', async (t) => {
  const store = memoryStore()
  let closed = 0
  store.close = async () => { closed++ }
  const app = Fastify()
  await app.register(matchcastAuth, { secret: SECRET })
  await app.register(matchcastStore, { store })
  await app.register(matchcastBroadcast)
  await app.register(matchcastRateLimit)
  await app.register(matchcastCertificates)
  await app.register(matchcastPayouts)
  await app.register(matchcastMatches)
  await app.register(matchcastWebsocket)
  await app.ready()
  t.equal(app.matchcast.store, store)
  await app.close()
  t.equal(closed, 0, 'a store passed in is not closed')
  const owning = Fastify()
  await owning.register(matchcastStore, { store, closeStore: true })
  await owning.close()
  t.equal(closed, 1, 'unless closeStore is set')
})
