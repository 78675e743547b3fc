/**
 * A host API as a team would have it before adding matchcast: its own JWT (with its own user
 * type), its own OpenAPI document, `/healthz`, `/metrics` and a prom-client registry. matchcast is
 * mounted under `/live` and verifies tokens with the host's @fastify/jwt.
 */
import fastifyJwt from '@fastify/jwt'
import fastifySwagger from '@fastify/swagger'
import Fastify, { type FastifyInstance } from 'fastify'
import matchcast, { memoryStore, type Seed } from 'matchcast'
import { closeCodeByNumber, CloseCode, type ServerFrame } from 'matchcast/protocol'
import { Registry, Counter } from 'prom-client'

declare module '@fastify/jwt' {
  interface FastifyJWT {
    payload: { sub: string, scope: string[] }
    user: { id: string, scopes: string[] }
  }
}

const seed: Seed = {
  tournaments: [{ id: 't1', name: 'Spring Cup' }],
  members: [
    { tournamentId: 't1', userId: 'u-org', role: 'organizer' },
    { tournamentId: 't1', userId: 'u-a', role: 'participant' },
    { tournamentId: 't1', userId: 'u-b', role: 'participant' }
  ],
  matches: [{ id: 'm1', tournamentId: 't1', participants: ['u-a', 'u-b'], state: 'scheduled' }]
}

export async function build (): Promise<FastifyInstance> {
  const app = Fastify()
  const registry = new Registry()
  const orders = new Counter({ name: 'host_orders_total', help: 'Orders.', registers: [registry] })
  await app.register(fastifyJwt, {
    secret: 'host-secret-0123456789abcdef0123456789',
    formatUser: (payload) => ({ id: payload.sub, scopes: payload.scope })
  })
  await app.register(fastifySwagger, { openapi: { info: { title: 'Host API', version: '2.0.0' } } })
  app.get('/healthz', async () => ({ host: 'ok' }))
  app.get('/metrics', async (_request, reply) => reply.type(registry.contentType).send(await registry.metrics()))
  app.get('/me', { onRequest: (request) => request.jwtVerify() }, async (request) => {
    orders.inc()
    return { id: request.user.id, scopes: request.user.scopes }
  })

  await app.register(matchcast, {
    prefix: '/live',
    store: memoryStore(seed),
    redis: process.env.REDIS_URL,
    metrics: { registry },
    http: { opsPrefix: '/ops' }
  })
  return app
}

/** What a browser client does with a close: the protocol table, by number. */
export function advice (code: number): string {
  return closeCodeByNumber(code)?.advice ?? `unknown close ${code} (${CloseCode.normal.reason})`
}

export function isSnapshot (frame: ServerFrame): boolean {
  return frame.type === 'snapshot'
}
