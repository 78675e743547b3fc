/** Helpers of the HTTP route tests: an app on a seed, bearer headers, a finalized match with a payout. */
import Fastify, { type FastifyInstance } from 'fastify'
import { memoryStore } from '../../../plugins/store/memory-store.js'
import type { Store } from '../../../plugins/store/store.js'
import type { Certificate, Payout, Seed } from '../../../schemas/common.js'
import matchcast, { type MatchcastOptions } from '../../../index.js'
import { SECRET, startApp, testSeed, token, type TapLike, type TestApp } from '../../helper.js'

export function bearer (user: string): { authorization: string } {
  return { authorization: `Bearer ${token(user)}` }
}

/** The test seed with m1 (prize 5000 USD) and m3 live, so both can be finalized. */
export function liveSeed (): Seed {
  const seed = testSeed()
  for (const m of seed.matches) if (m.id === 'm1' || m.id === 'm3') m.state = 'live'
  return seed
}

export async function httpApp (t: TapLike, options: Partial<MatchcastOptions> = {}, store: Store = memoryStore(liveSeed())): Promise<TestApp> {
  // Side routes are rate limited by default; the tests here make more requests than a client would.
  return startApp(t, { store, rateLimit: { http: { max: 100_000 } }, ...options })
}

/** Finalizes m1 (won by u-a, unless `scores` say otherwise) over HTTP; returns its certificate and pending payout. */
export async function finalizeM1 (app: FastifyInstance, scores: Record<string, number> = { 'u-a': 3, 'u-b': 1 }): Promise<{ certificate: Certificate, payout: Payout }> {
  const res = await app.inject({ method: 'POST', url: '/matches/m1/finalize', headers: bearer('u-org'), payload: { scores } })
  if (res.statusCode !== 200) throw new Error(`finalize failed: ${res.body}`)
  const { payout, certificate } = res.json() as { payout: Payout, certificate: { id: string } }
  return { payout, certificate: (await app.matchcast.store.getCertificate(certificate.id))! }
}

/** A matchcast app (not listening) whose error logs are collected. */
export async function appWithLogs (t: TapLike, store: Store = memoryStore(liveSeed()), options: Partial<MatchcastOptions> = {}): Promise<{ app: FastifyInstance, logs: Array<Record<string, unknown>> }> {
  const logs: Array<Record<string, unknown>> = []
  // A connectionTimeout as a host should set (and so no registration warning among the logs).
  const app = Fastify({ connectionTimeout: 10_000, logger: { level: 'warn', stream: { write: (line: string) => { logs.push(JSON.parse(line) as Record<string, unknown>) } } } })
  t.teardown(() => app.close())
  await app.register(matchcast, { auth: { secret: SECRET }, store, heartbeat: { intervalMs: 0 }, ...options })
  await app.ready()
  return { app, logs }
}
