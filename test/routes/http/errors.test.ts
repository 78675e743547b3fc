import Fastify from 'fastify'
import t from 'tap'
import { errorHandler, toErrorBody } from '../../../routes/http/error-handler.js'
import { CommandError, ConflictError } from '../../../lib/errors.js'
import { httpApp } from './setup.js'

t.test('CommandError codes map to HTTP statuses', async (t) => {
  const cases = [
    ['forbidden', 403, 'MATCHCAST_ERR_AUTH_FORBIDDEN'],
    ['invalid_state', 409, 'MATCHCAST_ERR_MATCH_INVALID_STATE'],
    ['conflict', 409, 'MATCHCAST_ERR_CONFLICT'],
    ['invalid_message', 400, 'MATCHCAST_ERR_BAD_REQUEST'],
    ['invalid_json', 400, 'MATCHCAST_ERR_BAD_REQUEST'],
    ['unknown_type', 400, 'MATCHCAST_ERR_BAD_REQUEST']
  ] as const
  for (const [code, statusCode, errorCode] of cases) {
    t.match(toErrorBody(new CommandError(code, 'why')), { body: { statusCode, code: errorCode, message: 'why' }, internal: false })
  }
  t.same(toErrorBody(new CommandError('internal', 'secret detail')), {
    body: { statusCode: 500, code: 'MATCHCAST_ERR_INTERNAL', error: 'Internal Server Error', message: 'Internal Server Error' }, internal: true
  })
})

t.test('validation failures name the field', async (t) => {
  const v = (issue: Record<string, unknown>, context?: string) => toErrorBody(Object.assign(new Error('x'), {
    validation: [{ instancePath: '', params: {}, ...issue }], ...(context !== undefined && { validationContext: context })
  })).body.message
  t.equal(v({ keyword: 'minimum', instancePath: '/scores/u-a', message: 'must be >= 0' }, 'body'), 'body/scores/u-a must be >= 0')
  t.equal(v({ keyword: 'boolean', instancePath: '/extra' }, 'body'), 'body/extra is not allowed')
  t.equal(v({ keyword: 'additionalProperties', params: { additionalProperty: 'extra' } }, 'querystring'), 'querystring/extra is not allowed')
  t.equal(v({ keyword: 'additionalProperties', params: {}, message: 'must NOT have additional properties' }), 'request must NOT have additional properties')
  t.equal(v({ keyword: 'custom' }, 'params'), 'params is invalid')
  t.equal(toErrorBody(Object.assign(new Error('x'), { validation: [], statusCode: 400 })).body.code, 'HTTP_400', 'an empty list is not a validation error')
})

t.test('other errors: 4xx keep code and message, 5xx are hidden', async (t) => {
  t.same(toErrorBody(new ConflictError('busy')).body, { statusCode: 409, code: 'MATCHCAST_ERR_CONFLICT', error: 'Conflict', message: 'busy' })
  t.same(toErrorBody(Object.assign(new Error('teapot'), { statusCode: 418 })).body, { statusCode: 418, code: 'HTTP_418', error: 'I\'m a Teapot', message: 'teapot' })
  t.same(toErrorBody(Object.assign(new Error('odd'), { statusCode: 499, code: 'X' })).body, { statusCode: 499, code: 'X', error: 'Error', message: 'odd' })
  t.same(toErrorBody({ statusCode: 404 }).body, { statusCode: 404, code: 'HTTP_404', error: 'Not Found', message: '' })
  t.same(toErrorBody(Object.assign(new Error('db password is hunter2'), { statusCode: 503 })), {
    body: { statusCode: 503, code: 'MATCHCAST_ERR_INTERNAL', error: 'Service Unavailable', message: 'Service Unavailable' }, internal: true
  })
  t.same(toErrorBody(Object.assign(new Error('x'), { statusCode: 599 })).body.error, 'Error')
  t.equal(toErrorBody('thrown string').body.statusCode, 500)
  t.equal(toErrorBody(Object.assign(new Error('x'), { statusCode: 200 })).body.statusCode, 500, 'a non-error status is a server fault')
})

t.test('errorHandler answers the one shape and logs server faults', async (t) => {
  const logs: unknown[] = []
  const app = Fastify({ logger: { level: 'error', stream: { write: (line: string) => { logs.push(JSON.parse(line)) } } } })
  t.teardown(() => app.close())
  app.setErrorHandler(errorHandler)
  app.get('/boom', async () => { throw new Error('secret') })
  app.get('/gone', async () => { throw Object.assign(new Error('no such thing'), { statusCode: 404, code: 'X_GONE' }) })
  const boom = await app.inject({ url: '/boom' })
  t.same(boom.json(), { statusCode: 500, code: 'MATCHCAST_ERR_INTERNAL', error: 'Internal Server Error', message: 'Internal Server Error' })
  t.match(logs, [{ msg: 'request failed', err: { message: 'secret' } }])
  t.same((await app.inject({ url: '/gone' })).json(), { statusCode: 404, code: 'X_GONE', error: 'Not Found', message: 'no such thing' })
  t.equal(logs.length, 1, 'client errors are not logged as failures')
})

t.test('malformed JSON bodies answer 400 in the error shape', async (t) => {
  const { app } = await httpApp(t)
  const res = await app.inject({ method: 'POST', url: '/matches/m1/finalize', headers: { 'content-type': 'application/json', authorization: 'Bearer x' }, payload: '{' })
  t.equal(res.statusCode, 401, 'authentication runs first')
})

t.test('http options are validated at registration, naming the option', async (t) => {
  await t.rejects(httpApp(t, { http: { idempotencyTtlMs: 0 } }), { code: 'MATCHCAST_ERR_INVALID_OPTS', message: /http\.idempotencyTtlMs/ })
  await t.rejects(httpApp(t, { http: { docsPrefix: 'docs' } as never }), { message: /http\.docsPrefix/ })
})

t.test('http.routeConfig reaches every side route\'s config (e.g. for @fastify/rate-limit)', async (t) => {
  const seen: unknown[] = []
  const app = Fastify()
  t.teardown(() => app.close())
  app.addHook('onRoute', (route) => { if (route.method === 'GET' && (route.url === '/healthz' || route.url === '/matches/:matchId')) seen.push(route.config) })
  const { default: matchcast } = await import('../../../index.js')
  const { memoryStore } = await import('../../../plugins/store/memory-store.js')
  await app.register(matchcast, { auth: { secret: 'x'.repeat(32) }, store: memoryStore(), heartbeat: { intervalMs: 0 }, http: { routeConfig: { probe: 1 } } })
  await app.ready()
  t.equal(seen.length, 2)
  for (const config of seen) t.match(config, { probe: 1 })
})

t.test('the umbrella needs auth', async (t) => {
  const { default: matchcast } = await import('../../../index.js')
  const app = Fastify()
  t.teardown(() => app.close())
  await t.rejects(async () => { await app.register(matchcast, {} as never).ready() }, { code: 'MATCHCAST_ERR_INVALID_OPTS', message: /auth/ })
})
