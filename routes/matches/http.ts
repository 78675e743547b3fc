/**
 * The HTTP side routes around a match result: match state and finalize, payouts (idempotent
 * approve / reject), certificates (JSON, PDF, public verify), organizer analytics, and the ops
 * routes (`/healthz`, `/readyz`, `/metrics`). Every schema comes from `schemas/http.ts` and
 * feeds both validation and the OpenAPI document (`/docs/json`).
 */
import { createHash } from 'node:crypto'
import { TypeBoxValidatorCompiler, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { Type, type Static } from 'typebox'
import { renderCertificatePdf } from '../../plugins/certificate-pdf.js'
import { errorHandler, toErrorBody } from '../../plugins/error-handler.js'
import { rateLimited } from '../../plugins/rate-limit/index.js'
import { ForbiddenError, IdempotencyInFlightError, IdempotencyMismatchError, NotFoundError, PayoutStateError } from '../../plugins/errors.js'
import { namespace } from '../../plugins/namespace.js'
import { BEARER_SCHEME, DEFAULT_DOCS_PREFIX, matchcastOpenapi } from '../../plugins/openapi.js'
import { parseOptions, type OptionsInput } from '../../plugins/options.js'
import type { StoredResponse } from '../../plugins/store/store.js'
import type { Certificate, Match, Payout, PayoutStatus, Role } from '../../schemas/common.js'
import {
  AnalyticsSummary, CertificateParams, FinalizeBody, FinalizeResponse, Health, IdempotencyHeaders,
  PayoutList, PayoutParams, PdfDocument, PayoutResponse, Readiness, RejectBody, SHARED_SCHEMAS, VerifyParams, VerifyResponse, errors
} from '../../schemas/http.js'
import { MatchParams, TournamentParams } from '../../schemas/matches.js'

/** How long an `Idempotency-Key` is remembered (24 h, as payment APIs commonly do). */
export const DEFAULT_IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000
/** A readiness check that has not answered in this time counts as down. */
export const DEFAULT_READINESS_TIMEOUT_MS = 2000
export const REPLAYED_HEADER = 'idempotent-replayed'

export const HttpRoutesOptions = Type.Object({
  /** How long an `Idempotency-Key` (per user) is remembered; a key older than this starts afresh. @default 86400000 (24 h) */
  idempotencyTtlMs: Type.Integer({ minimum: 1, default: DEFAULT_IDEMPOTENCY_TTL_MS }),
  /** Serve Swagger UI and the OpenAPI document. @default true */
  docs: Type.Boolean({ default: true }),
  /** Where Swagger UI is served; the document is at `${docsPrefix}/json`. @default '/docs' */
  docsPrefix: Type.String({ pattern: '^/[A-Za-z0-9/_-]*$', default: DEFAULT_DOCS_PREFIX }),
  /** How long `/readyz` waits for the store and Redis before reporting them down. @default 2000 */
  readinessTimeoutMs: Type.Integer({ minimum: 1, default: DEFAULT_READINESS_TIMEOUT_MS }),
  /**
   * Merged into the `config` of every route: the place for per-route plugin settings, e.g.
   * `{ rateLimit: { max: 100, timeWindow: '1 minute' } }` for @fastify/rate-limit. @default {}
   */
  routeConfig: Type.Record(Type.String(), Type.Unknown(), { default: {} })
}, { additionalProperties: false })
export type HttpRoutesOptions = Static<typeof HttpRoutesOptions>

/** A JSON value with object keys sorted, so key order does not make two request bodies differ. */
export function canonical (value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical)
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.keys(value).sort().map((k) => [k, canonical((value as Record<string, unknown>)[k])]))
  }
  return value
}

/** What an idempotency key is bound to: the route, its parameters and the body. */
export function fingerprint (request: FastifyRequest): string {
  const subject = [request.method, request.routeOptions.url, canonical(request.params), canonical(request.body ?? null)]
  return createHash('sha256').update(JSON.stringify(subject)).digest('base64url')
}

const MATCH_STATES = ['scheduled', 'live', 'disputed', 'completed', 'cancelled'] as const
const PAYOUT_STATUSES = ['pending', 'approved', 'rejected'] as const

/** The organizer analytics of a tournament, from its matches, members and payouts. */
export function summarize (tournamentId: string, matches: Match[], participants: number, payouts: Payout[],
  connections: AnalyticsSummary['connections'], now: Date): AnalyticsSummary {
  const byState = Object.fromEntries(MATCH_STATES.map((s) => [s, 0])) as AnalyticsSummary['matches']['byState']
  const players = new Set<string>()
  let durations = 0
  let timed = 0
  for (const m of matches) {
    byState[m.state]++
    for (const p of m.participants) players.add(p)
    if (m.state === 'completed' && m.startedAt !== undefined && m.completedAt !== undefined) {
      durations += Date.parse(m.completedAt) - Date.parse(m.startedAt)
      timed++
    }
  }
  const byStatus = Object.fromEntries(PAYOUT_STATUSES.map((s) => [s, { count: 0, amounts: {} }])) as AnalyticsSummary['payouts']['byStatus']
  for (const p of payouts) {
    const totals = byStatus[p.status]
    totals.count++
    totals.amounts[p.currency] = (totals.amounts[p.currency] ?? 0) + p.amount
  }
  return {
    tournamentId,
    matches: { total: matches.length, byState },
    participants: { members: participants, inMatches: players.size },
    averageMatchDurationMs: timed === 0 ? null : durations / timed,
    disputes: { open: byState.disputed },
    payouts: { total: payouts.length, byStatus },
    connections,
    generatedAt: now.toISOString()
  }
}

/** Resolves `work()`, or rejects with a timeout after `ms`; the timer never outlives the call. */
async function within<T> (ms: number, work: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms)
  })
  try {
    return await Promise.race([work(), timeout])
  } finally {
    clearTimeout(timer)
  }
}

type Check = Readiness['checks']['store']

async function check (ms: number, work: () => Promise<unknown>): Promise<Check> {
  const started = performance.now()
  try {
    await within(ms, work)
    return { status: 'up', latencyMs: performance.now() - started }
  } catch (err) {
    return { status: 'down', latencyMs: performance.now() - started, message: (err as Error).message }
  }
}

const plugin: FastifyPluginAsync<OptionsInput<HttpRoutesOptions>> = async (instance, rawOptions) => {
  const options = parseOptions(HttpRoutesOptions, rawOptions, 'http')
  const app = instance.withTypeProvider<TypeBoxTypeProvider>()
  const ns = namespace(app)
  const { auth, timedStore: store, matches, connections, metrics } = app.matchcast

  app.setErrorHandler(errorHandler)
  // TypeBox validates the requests (as it does WebSocket commands): unknown fields are a 400, not dropped.
  app.setValidatorCompiler(TypeBoxValidatorCompiler)
  for (const schema of SHARED_SCHEMAS) app.addSchema(schema)
  if (options.docs) await app.register(matchcastOpenapi, { routePrefix: options.docsPrefix })

  // Side routes are limited per IP by default (@fastify/rate-limit as registered by
  // matchcast-rate-limit: shared through Redis when configured, `rateLimit.http.*`); the ops
  // routes (health, readiness, metrics) are not, so probes and scrapers never see a 429.
  const opsConfig = options.routeConfig
  // Explicit limits give each route its own count (an empty config would share one per IP).
  const { max, timeWindowMs } = ns.limiter!.options.http
  const config = { ...rateLimited({ max, timeWindowMs }), ...options.routeConfig }
  const bearer = [{ [BEARER_SCHEME]: [] }]
  /** Options of a route that needs a valid bearer token (401 otherwise). */
  const secured = { onRequest: auth.authenticate, config }

  const userOf = (request: FastifyRequest) => request.user.sub

  async function roleIn (tournamentId: string, userId: string): Promise<Role> {
    const role = await store.getRole(tournamentId, userId)
    if (role === undefined) throw new ForbiddenError('not a member of this tournament')
    return role
  }

  async function requireOrganizer (tournamentId: string, userId: string): Promise<void> {
    if (await roleIn(tournamentId, userId) !== 'organizer') throw new ForbiddenError('organizers only')
  }

  async function tournamentAsOrganizer (tournamentId: string, userId: string): Promise<void> {
    if (await store.getTournament(tournamentId) === undefined) throw new NotFoundError(`tournament ${tournamentId} does not exist`)
    await requireOrganizer(tournamentId, userId)
  }

  async function matchOf (matchId: string): Promise<Match> {
    const match = await store.getMatch(matchId)
    if (match === undefined) throw new NotFoundError(`match ${matchId} does not exist`)
    return match
  }

  /** The certificate, readable by its holder and the tournament's organizers. */
  async function readableCertificate (certificateId: string, userId: string): Promise<Certificate> {
    const certificate = await store.getCertificate(certificateId)
    if (certificate === undefined) throw new NotFoundError(`certificate ${certificateId} does not exist`)
    if (certificate.userId !== userId) await requireOrganizer(certificate.tournamentId, userId)
    return certificate
  }

  // --- matches ---------------------------------------------------------------------------------

  app.get('/matches/:matchId', {
    ...secured,
    schema: {
      summary: 'The match\'s current state',
      description: 'Any member of the match\'s tournament may read it.',
      tags: ['matches'],
      security: bearer,
      params: MatchParams,
      response: { 200: Type.Ref('Match', { description: 'The match.' }), ...errors(400, 401, 403, 404) }
    }
  }, async (request) => {
    const match = await matchOf(request.params.matchId)
    await roleIn(match.tournamentId, userOf(request))
    return match
  })

  app.post('/matches/:matchId/finalize', {
    ...secured,
    schema: {
      summary: 'Finalize a match: decide the winner, issue the certificate and the payout',
      description: 'The winner is `winnerId`, or else the participant with the highest score (a tie without `winnerId` is a 400). ' +
        'Completes the match, broadcasts `match_completed` to its rooms, issues the winner\'s certificate and, when the match ' +
        'has a prize, a pending payout: all or nothing. The same code path and guarantees as the WebSocket `match.finalize`: ' +
        'of two racing finalizes exactly one wins, the other gets a 409.',
      tags: ['matches'],
      security: bearer,
      params: MatchParams,
      body: FinalizeBody,
      response: { 200: FinalizeResponse, ...errors(400, 401, 403, 404, 409) }
    }
  }, async (request) => {
    const { matchId } = request.params
    const match = await matchOf(matchId)
    const role = await roleIn(match.tournamentId, userOf(request))
    const { scores, winnerId } = request.body
    const result = await matches.execute(matchId, { userId: userOf(request), role },
      { type: 'match.finalize', scores, ...(winnerId !== undefined && { winnerId }) })
    const certificate = result.certificate!
    return {
      match: result.match,
      certificate: { id: certificate.id, code: certificate.code },
      ...(result.payout !== undefined && { payout: result.payout })
    }
  })

  // --- payouts ---------------------------------------------------------------------------------

  app.get('/tournaments/:tournamentId/payouts', {
    ...secured,
    schema: {
      summary: 'The tournament\'s payouts, oldest first',
      tags: ['payouts'],
      security: bearer,
      params: TournamentParams,
      response: { 200: PayoutList, ...errors(400, 401, 403, 404) }
    }
  }, async (request) => {
    const { tournamentId } = request.params
    await tournamentAsOrganizer(tournamentId, userOf(request))
    return { payouts: await store.listPayouts(tournamentId) }
  })

  /**
   * Moves a pending payout to `to`. Already there: a no-op 200; in the other final state: 409.
   * Returns the response rather than throwing, so an idempotency key can keep it.
   */
  async function changePayout (payout: Payout, to: Exclude<PayoutStatus, 'pending'>, reason?: string): Promise<StoredResponse> {
    let current: Payout | undefined = payout
    if (current.status === 'pending') {
      const updated = await store.setPayoutStatus(payout.id, 'pending', to, reason)
      // Lost a race with another change: answer from what won.
      current = updated ?? await store.getPayout(payout.id)
    }
    if (current!.status === to) return { statusCode: 200, body: { payout: current } }
    return { statusCode: 409, body: toErrorBody(new PayoutStateError(`payout ${payout.id} is ${current!.status}; it cannot become ${to}`)).body }
  }

  /** Approve or reject, under the request's `Idempotency-Key` when it has one. */
  async function payoutAction (request: FastifyRequest, payoutId: string, key: string | undefined,
    to: Exclude<PayoutStatus, 'pending'>, reason?: string): Promise<StoredResponse & { replayed?: true }> {
    const userId = userOf(request)
    const payout = await store.getPayout(payoutId)
    if (payout === undefined) throw new NotFoundError(`payout ${payoutId} does not exist`)
    await requireOrganizer(payout.tournamentId, userId)
    if (key === undefined) return changePayout(payout, to, reason)
    const claim = await store.beginIdempotent(userId, key, fingerprint(request), options.idempotencyTtlMs)
    switch (claim.state) {
      case 'mismatch':
        throw new IdempotencyMismatchError('this Idempotency-Key was used with another request')
      case 'in_flight':
        throw new IdempotencyInFlightError('a request with this Idempotency-Key is still being processed; retry later')
      case 'done':
        return { ...claim.response, replayed: true }
    }
    let response: StoredResponse
    try {
      response = await changePayout(payout, to, reason)
    } catch (err) {
      // Nothing to replay: free the key so the client can retry.
      await store.abandonIdempotent(userId, key).catch((abandonErr: unknown) => request.log.error({ err: abandonErr }, 'releasing an idempotency key failed'))
      throw err
    }
    await store.finishIdempotent(userId, key, response)
    return response
  }

  function answer (reply: FastifyReply, response: StoredResponse & { replayed?: true }): FastifyReply {
    if (response.replayed) reply.header(REPLAYED_HEADER, 'true')
    return reply.code(response.statusCode).send(response.body)
  }

  const payoutDescription = (action: string) => `${action} With an \`Idempotency-Key\` header, the same key and body answer the first ` +
    'response again (with `Idempotent-Replayed: true`), the same key with another body is a 422, and a key whose first ' +
    `request is still running is a 409. Keys are per user and kept for ${options.idempotencyTtlMs} ms.`

  app.post('/payouts/:payoutId/approve', {
    ...secured,
    schema: {
      summary: 'Approve a pending payout',
      description: payoutDescription('Approving an approved payout is a no-op 200; approving a rejected one is a 409.'),
      tags: ['payouts'],
      security: bearer,
      params: PayoutParams,
      headers: IdempotencyHeaders,
      response: { 200: PayoutResponse, ...errors(400, 401, 403, 404, 409, 422) }
    }
  }, async (request, reply) => {
    return answer(reply, await payoutAction(request, request.params.payoutId, request.headers['idempotency-key'], 'approved'))
  })

  app.post('/payouts/:payoutId/reject', {
    ...secured,
    schema: {
      summary: 'Reject a pending payout, with a reason',
      description: payoutDescription('Rejecting a rejected payout is a no-op 200 (the first reason stays); rejecting an approved one is a 409.'),
      tags: ['payouts'],
      security: bearer,
      params: PayoutParams,
      headers: IdempotencyHeaders,
      body: RejectBody,
      response: { 200: PayoutResponse, ...errors(400, 401, 403, 404, 409, 422) }
    }
  }, async (request, reply) => {
    return answer(reply, await payoutAction(request, request.params.payoutId, request.headers['idempotency-key'], 'rejected', request.body.reason))
  })

  // --- certificates ----------------------------------------------------------------------------

  app.get('/certificates/verify/:code', {
    config,
    schema: {
      summary: 'Verify a certificate code (public)',
      description: 'A code is an Ed25519 signature over the certificate; a changed or truncated code is `valid: false`.',
      tags: ['certificates'],
      security: [],
      params: VerifyParams,
      response: { 200: VerifyResponse, ...errors(400) }
    }
  }, async (request) => {
    const { code } = request.params
    const certificate = await store.getCertificateByCode(code)
    if (certificate === undefined) return { valid: false }
    const { code: _code, ...fields } = certificate
    return matches.signer.verify(fields, code) ? { valid: true, certificate } : { valid: false }
  })

  app.get('/certificates/:certificateId', {
    ...secured,
    schema: {
      summary: 'A certificate, with its verification code',
      description: 'Readable by the holder and the tournament\'s organizers.',
      tags: ['certificates'],
      security: bearer,
      params: CertificateParams,
      response: { 200: Type.Ref('Certificate', { description: 'The certificate.' }), ...errors(400, 401, 403, 404) }
    }
  }, async (request) => readableCertificate(request.params.certificateId, userOf(request)))

  app.get('/certificates/:certificateId/download', {
    ...secured,
    schema: {
      summary: 'A certificate as PDF',
      description: 'Tournament, match, winner, date and verification code, on one page. Readable by the holder and the tournament\'s organizers.',
      tags: ['certificates'],
      security: bearer,
      params: CertificateParams,
      response: {
        200: { description: 'The certificate as a PDF document.', content: { 'application/pdf': { schema: PdfDocument } } },
        ...errors(400, 401, 403, 404)
      }
    }
  }, async (request, reply) => {
    const certificate = await readableCertificate(request.params.certificateId, userOf(request))
    const pdf = await renderCertificatePdf(certificate, { verifyUrl: `${request.protocol}://${request.host}/certificates/verify/` })
    return reply.type('application/pdf')
      .header('content-disposition', `attachment; filename="certificate-${certificate.id}.pdf"`)
      .send(Buffer.from(pdf.buffer, pdf.byteOffset, pdf.byteLength))
  })

  // --- analytics -------------------------------------------------------------------------------

  app.get('/tournaments/:tournamentId/analytics/summary', {
    ...secured,
    schema: {
      summary: 'Organizer analytics of a tournament',
      description: 'Matches by state, participants, average match duration, open disputes, payouts by status and amount, live connections.',
      tags: ['analytics'],
      security: bearer,
      params: TournamentParams,
      response: { 200: AnalyticsSummary, ...errors(400, 401, 403, 404) }
    }
  }, async (request) => {
    const { tournamentId } = request.params
    await tournamentAsOrganizer(tournamentId, userOf(request))
    const [list, members, payouts] = await Promise.all([store.listMatches(tournamentId), store.listMembers(tournamentId), store.listPayouts(tournamentId)])
    const watching = list.reduce((n, m) => n + connections.rooms.size(m.id), 0)
    return summarize(tournamentId, list, members.filter((m) => m.role === 'participant').length, payouts,
      { instance: connections.size, tournament: watching }, new Date())
  })

  // --- ops -------------------------------------------------------------------------------------

  app.get('/healthz', {
    config: opsConfig,
    schema: { summary: 'Liveness: the process serves requests', tags: ['ops'], security: [], response: { 200: Health } }
  }, async () => ({ status: 'ok' as const }))

  app.get('/readyz', {
    config: opsConfig,
    schema: {
      summary: 'Readiness: the store answers (and Redis, when configured)',
      description: '503 when the store does not answer; Redis down is `degraded` (200), since limits then fall back to this instance.',
      tags: ['ops'],
      security: [],
      response: { 200: Readiness, 503: { ...Readiness, description: 'The store does not answer.' } }
    }
  }, async (_request, reply) => {
    const redis = ns.redis
    const [storeCheck, redisCheck] = await Promise.all([
      check(options.readinessTimeoutMs, () => store.ping()),
      redis === undefined ? undefined : check(options.readinessTimeoutMs, () => redis.client.ping())
    ])
    const checks: Readiness['checks'] = { store: storeCheck }
    if (redisCheck !== undefined) {
      // Where the limiter counts now: 'memory' while it has fallen back from Redis.
      checks.redis = { ...redisCheck, limiter: ns.limiter!.mode }
    }
    const status = storeCheck.status === 'down' ? 'unavailable' : checks.redis?.status === 'down' ? 'degraded' : 'ok'
    return reply.code(status === 'unavailable' ? 503 : 200).send({ status, checks })
  })

  app.get('/metrics', {
    config: opsConfig,
    schema: {
      summary: 'Prometheus metrics of this instance',
      tags: ['ops'],
      security: [],
      response: { 200: { description: 'Prometheus text exposition format.', content: { 'text/plain': { schema: { type: 'string' } } } } }
    }
  }, async (_request, reply) => {
    const text = await metrics.registry.metrics()
    return reply.type(metrics.registry.contentType).send(text)
  })
}

/**
 * The HTTP side routes (SPEC section 6), encapsulated: their error handler, schemas and docs stay
 * in this plugin's scope. Needs the auth, store, matches, rate-limit, websocket and metrics plugins.
 */
export const matchcastHttpRoutes = fp(plugin, {
  name: 'matchcast-http-routes',
  fastify: '5.x',
  encapsulate: true,
  dependencies: ['matchcast-auth', 'matchcast-store', 'matchcast-matches', 'matchcast-rate-limit', 'matchcast-websocket', 'matchcast-metrics']
})
export default matchcastHttpRoutes
