import fastifySwagger from '@fastify/swagger'
import { Validator } from '@seriousme/openapi-schema-validator'
import Fastify from 'fastify'
import t from 'tap'
import matchcast from '../../../index.js'
import matchcastOpenapi, { buildLocalReference } from '../../../plugins/openapi/index.js'
import { memoryStore } from '../../../plugins/store/memory-store.js'
import { SECRET } from '../../helper.js'
import { httpApp } from './setup.js'

const OPS = new Set(['/healthz', '/readyz', '/metrics'])
const PUBLIC = new Set(['/certificates/verify/{code}', '/.well-known/matchcast/certificate-key', ...OPS])

t.test('/docs/json is a valid OpenAPI 3 document of every side route', async (t) => {
  const { app } = await httpApp(t)
  const res = await app.inject({ url: '/docs/json' })
  t.equal(res.statusCode, 200)
  const doc = res.json()
  const result = await new Validator().validate(doc)
  t.same(result, { valid: true }, 'validates against the OpenAPI 3 schema')
  t.same(Object.keys(doc.paths).sort(), [
    '/.well-known/matchcast/certificate-key',
    '/certificates/verify/{code}', '/certificates/{certificateId}', '/certificates/{certificateId}/download', '/healthz',
    '/matches/{matchId}', '/matches/{matchId}/finalize', '/metrics', '/payouts/{payoutId}/approve', '/payouts/{payoutId}/reject',
    '/readyz', '/tournaments/{tournamentId}/analytics/summary', '/tournaments/{tournamentId}/certificates', '/tournaments/{tournamentId}/payouts'
  ], 'WebSocket routes and the docs themselves are hidden')
  for (const [path, methods] of Object.entries(doc.paths as Record<string, Record<string, Record<string, unknown>>>)) {
    for (const [method, op] of Object.entries(methods)) {
      t.type(op.summary, 'string', `${method} ${path} has a summary`)
      t.ok((op.tags as string[]).length > 0, `${method} ${path} is tagged`)
      t.same(op.security, PUBLIC.has(path) ? [] : [{ bearerAuth: [] }], `${method} ${path} security`)
      const responses = op.responses as Record<string, { content?: Record<string, { schema: unknown }> }>
      t.ok(responses['200'], `${method} ${path} documents its 200`)
      if (!PUBLIC.has(path)) t.same(responses['401']!.content!['application/json']!.schema, { $ref: '#/components/schemas/ErrorBody' })
      if (!OPS.has(path)) t.match(responses['429'], { description: /Too many requests/ }, `${method} ${path} documents its 429`)
      for (const [status, response] of Object.entries(responses)) {
        const media = response.content?.['application/json'] as { schema: { example?: unknown, $ref?: string }, example?: { statusCode?: number } } | undefined
        if (media === undefined) continue
        if (media.schema.$ref === '#/components/schemas/ErrorBody') t.equal(media.example?.statusCode, Number(status), `${method} ${path} ${status} has an example of its own status`)
        else t.ok(media.schema.example !== undefined || media.schema.$ref !== undefined, `${method} ${path} ${status} has an example`)
      }
      const body = (op.requestBody as { content: Record<string, { schema: { example?: unknown } }> } | undefined)?.content['application/json']
      if (body !== undefined) t.ok(body.schema.example, `${method} ${path} body has an example`)
      for (const parameter of (op.parameters ?? []) as Array<{ in: string, name: string, schema: { example?: unknown } }>) {
        if (parameter.in === 'path') t.ok(parameter.schema.example, `${method} ${path} ${parameter.name} has an example`)
      }
    }
  }
  for (const name of ['Match', 'Payout', 'Certificate', 'ErrorBody']) t.ok(doc.components.schemas[name].example, `${name} has an example`)
  t.equal(doc.components.schemas.Match.properties.prize.properties.currency.example, 'USD')
  t.same(Object.keys(doc.components.schemas).sort(), ['Certificate', 'ErrorBody', 'Match', 'MatchState', 'Payout', 'PayoutStatus', 'Role'])
  t.same(doc.components.securitySchemes, { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } })
  const finalize = doc.paths['/matches/{matchId}/finalize'].post
  t.same(Object.keys(finalize.responses).sort(), ['200', '400', '401', '403', '404', '409', '429'])
  t.notMatch(finalize.responses['409'].description, /Idempotency/, 'finalize takes no Idempotency-Key')
  t.match(finalize.responses['200'].content['application/json'].schema.example, { match: { state: 'completed', winnerId: 'u-a' } })
  t.match(doc.paths['/payouts/{payoutId}/approve'].post.responses['409'].description, /Idempotency-Key/)
  t.ok(finalize.requestBody.content['application/json'].schema.properties.scores)
  t.ok(doc.paths['/payouts/{payoutId}/approve'].post.responses['200'].headers['idempotent-replayed'])
  t.ok(doc.paths['/certificates/{certificateId}/download'].get.responses['200'].content['application/pdf'])
  const verify = doc.paths['/certificates/verify/{code}'].get.responses['200'].content
  t.same(Object.keys(verify), ['application/json', 'text/html'], 'verify documents both answers')
  t.ok(verify['application/json'].schema.properties.status)
})

t.test('Swagger UI is served at /docs', async (t) => {
  const { app } = await httpApp(t)
  const res = await app.inject({ url: '/docs/' })
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /text\/html/)
})

t.test('http.docs: false serves no docs; http.docsPrefix moves them', async (t) => {
  const { app } = await httpApp(t, { http: { docs: false } })
  t.equal((await app.inject({ url: '/docs/json' })).statusCode, 404)
  const { app: moved } = await httpApp(t, { http: { docsPrefix: '/api-docs' } })
  t.equal((await moved.inject({ url: '/api-docs/json' })).statusCode, 200)
})

t.test('a host with its own @fastify/swagger keeps it; the side routes join its document', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  // The host declares neither matchcast's tags nor the bearer scheme its routes name.
  await app.register(fastifySwagger, { openapi: { info: { title: 'host', version: '1' }, tags: [{ name: 'orders' }] } })
  app.get('/orders', { schema: { tags: ['orders'], response: { 200: { type: 'array' } } } }, async () => [])
  await app.register(matchcast, { auth: { secret: SECRET }, store: memoryStore(), heartbeat: { intervalMs: 0 } })
  await app.ready()
  const doc = app.swagger() as unknown as { info: { title: string }, paths: Record<string, Record<string, { tags: string[] }>>, tags: Array<{ name: string }>, components: { securitySchemes: unknown } }
  t.equal(doc.info.title, 'host')
  t.ok(doc.paths['/orders'], 'the host\'s own routes stay')
  t.same(doc.paths['/matches/{matchId}']!.get!.tags, ['matches'])
  t.same(doc.tags.map((tag) => tag.name), ['orders', 'matches', 'payouts', 'certificates', 'analytics', 'ops'])
  t.same(doc.components.securitySchemes, { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } })
  t.same(await new Validator().validate(doc), { valid: true })
  t.equal((await app.inject({ url: '/docs/json' })).statusCode, 404, 'no UI of matchcast\'s own')
  t.equal((await app.inject({ url: '/docs/' })).statusCode, 404)
  t.equal((await app.inject({ url: '/docs/asyncapi.json' })).statusCode, 200, 'the AsyncAPI document is still served')
})

t.test('a host with its own @fastify/swagger gets a UI of its whole document when it asks', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(fastifySwagger, { openapi: { info: { title: 'host', version: '1' } } })
  await app.register(matchcast, { auth: { secret: SECRET }, heartbeat: { intervalMs: 0 }, http: { docsUi: true } })
  t.equal((await app.inject({ url: '/docs/json' })).json().info.title, 'host')
})

t.test('buildLocalReference names components by $id', async (t) => {
  t.equal(buildLocalReference({ $id: 'Match' }, '', '', 3), 'Match')
  t.equal(buildLocalReference({}, '', '', 3), 'def-3')
})

t.test('the openapi plugin alone serves its UI at /docs by default', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(matchcastOpenapi)
  t.equal((await app.inject({ url: '/docs/json' })).statusCode, 200)
})
