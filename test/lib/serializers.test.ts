import Fastify, { type FastifyInstance } from 'fastify'
import t from 'tap'
import { lazySerializers } from '../../lib/serializers.js'
import type { TapLike } from '../helper.js'

const Player = { $id: 'Player', type: 'object', properties: { id: { type: 'string' }, score: { type: 'integer' } }, required: ['id'] }
const Reply = { type: 'object', properties: { players: { type: 'array', items: { $ref: 'Player#' } }, at: { type: 'string', format: 'date-time' } } }
const data = { players: [{ id: 'u-a', score: 3, secret: 'not in the schema' }, { id: 'u-b', score: '2' }], at: new Date(0), extra: true }

/** An app whose one encapsulated scope answers `GET /r` with `data` under `Reply`; lazily or as Fastify does. */
async function app (t: TapLike, lazy: boolean, schema: object = Reply): Promise<FastifyInstance> {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(async (scope) => {
    if (lazy) lazySerializers(scope)
    // Added after: the scope's shared schemas are read at the first response.
    scope.addSchema(Player)
    scope.get('/r', { schema: { response: { 200: schema } } }, async () => data)
  })
  return app
}

t.test('the same bytes as the serializer Fastify builds: shared schemas, coercion, fields left out', async (t) => {
  const eager = await (await app(t, false)).inject({ url: '/r' })
  const lazy = await app(t, true)
  const first = await lazy.inject({ url: '/r' })
  t.equal(first.statusCode, 200)
  t.equal(first.body, eager.body)
  t.same(first.json(), { players: [{ id: 'u-a', score: 3 }, { id: 'u-b', score: 2 }], at: '1970-01-01T00:00:00.000Z' })
  t.equal((await lazy.inject({ url: '/r' })).body, first.body, 'built once, used again')
})

t.test('nothing is built at start: a schema the serializer cannot build fails the route\'s first response, not the start', async (t) => {
  const broken = { type: 'object', properties: { a: { $ref: 'Nowhere#' } } }
  const eager = Fastify()
  t.teardown(() => eager.close())
  await eager.register(async (scope) => { scope.get('/r', { schema: { response: { 200: broken } } }, async () => ({ a: 1 })) })
  await t.rejects(async () => { await eager.ready() }, 'Fastify builds it at start')
  const lazy = await app(t, true, broken)
  await lazy.ready()
  const res = await lazy.inject({ url: '/r' })
  t.equal(res.statusCode, 500)
})
