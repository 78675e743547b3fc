import t from 'tap'
import { bearer, httpApp } from './setup.js'

t.test('side routes are rate limited per IP with the project\'s error shape; ops routes are not', async (t) => {
  const { app } = await httpApp(t, { rateLimit: { http: { max: 2, timeWindowMs: 60_000 } } })
  for (let i = 0; i < 2; i++) {
    t.equal((await app.inject({ url: '/matches/m1', headers: bearer('u-org') })).statusCode, 200)
  }
  const limited = await app.inject({ url: '/matches/m1', headers: bearer('u-org') })
  t.equal(limited.statusCode, 429)
  t.match(limited.json(), { statusCode: 429, code: 'MATCHCAST_ERR_RATE_LIMITED', error: 'Too Many Requests', message: /rate limit exceeded/ })
  t.equal((await app.inject({ url: '/certificates/verify/abc' })).statusCode, 200, 'another route has its own count')
  for (let i = 0; i < 5; i++) {
    t.equal((await app.inject({ url: '/healthz' })).statusCode, 200)
    t.equal((await app.inject({ url: '/metrics' })).statusCode, 200)
  }
})

t.test('http.routeConfig can override the limit of the side routes', async (t) => {
  const { app } = await httpApp(t, { http: { routeConfig: { rateLimit: { max: 1 } } } })
  t.equal((await app.inject({ url: '/certificates/verify/abc' })).statusCode, 200)
  t.equal((await app.inject({ url: '/certificates/verify/abc' })).statusCode, 429)
})
