import fastifySwagger from '@fastify/swagger'
import { Validator } from '@seriousme/openapi-schema-validator'
import Fastify from 'fastify'
import t from 'tap'
import matchcast from '../../../index.js'
import matchcastOpenapi, { buildLocalReference } from '../../../plugins/openapi/index.js'
import { memoryStore } from '../../../plugins/store/memory-store.js'
import { SECRET } from '../../helper.js'
import { httpApp } from './setup.js'

const PUBLIC = new Set(['/certificates/verify/{code}', '/.well-known/matchcast/certificate-key', '/healthz', '/readyz', '/metrics'])

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
    }
  }
  t.same(Object.keys(doc.components.schemas).sort(), ['Certificate', 'ErrorBody', 'Match', 'MatchState', 'Payout', 'PayoutStatus', 'Role'])
  t.same(doc.components.securitySchemes, { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } })
  const finalize = doc.paths['/matches/{matchId}/finalize'].post
  t.same(Object.keys(finalize.responses).sort(), ['200', '400', '401', '403', '404', '409'])
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
  // The host declares the bearer scheme our routes name.
  await app.register(fastifySwagger, {
    openapi: { info: { title: 'host', version: '1' }, components: { securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer' } } } }
  })
  await app.register(matchcast, { auth: { secret: SECRET }, store: memoryStore(), heartbeat: { intervalMs: 0 } })
  await app.ready()
  const doc = app.swagger() as { info: { title: string }, paths: Record<string, unknown> }
  t.equal(doc.info.title, 'host')
  t.ok(doc.paths['/matches/{matchId}'])
  t.same(await new Validator().validate(doc), { valid: true })
  t.equal((await app.inject({ url: '/docs/json' })).statusCode, 404, 'no second UI')
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
