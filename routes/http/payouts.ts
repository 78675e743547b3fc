/** `GET /tournaments/:tournamentId/payouts` and the idempotent `POST /payouts/:payoutId/approve|reject`. */
import { randomUUID } from 'node:crypto'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import { NotFoundError } from '../../lib/errors.js'
import type { PayoutDecision } from '../../plugins/payouts/index.js'
import { fingerprint, runIdempotent } from '../../plugins/store/idempotency.js'
import type { StoredResponse } from '../../plugins/store/store.js'
import { IdempotencyHeaders, PayoutList, PayoutParams, PayoutResponse, RejectBody, errors } from '../../schemas/http.js'
import { TournamentParams } from '../../schemas/params.js'
import type { RouteContext } from './access.js'
import { answerOf } from './error-handler.js'
import { REPLAYED_HEADER } from './options.js'

const payouts: FastifyPluginAsync<RouteContext> = async (instance, ctx) => {
  const app = instance.withTypeProvider<TypeBoxTypeProvider>()
  const { timedStore: store, payouts } = app.matchcast
  const { options, secured, bearer, userOf, requireOrganizer, tournamentAsOrganizer, pruner } = ctx
  // Holds this instance's keys in flight: another instance may take one over once its lease runs out.
  const owner = randomUUID()

  app.get('/tournaments/:tournamentId/payouts', {
    ...secured,
    schema: {
      summary: 'The tournament\'s payouts, oldest first',
      tags: ['payouts'],
      security: bearer,
      params: TournamentParams,
      response: { 200: PayoutList, ...errors([400, 401, 403, 404, 429]) }
    }
  }, async (request) => {
    const { tournamentId } = request.params
    await tournamentAsOrganizer(tournamentId, userOf(request))
    return { payouts: await store.listPayouts(tournamentId) }
  })

  /** Approve or reject, under the request's `Idempotency-Key` when it has one. */
  async function decide (request: FastifyRequest, reply: FastifyReply, payoutId: string, to: PayoutDecision, reason?: string): Promise<FastifyReply> {
    const userId = userOf(request)
    const payout = await store.getPayout(payoutId)
    if (payout === undefined) throw new NotFoundError(`payout ${payoutId} does not exist`)
    await requireOrganizer(payout.tournamentId, userId)
    // A refusal (409) is an answer too: an idempotency key keeps it like a success.
    const work = (): Promise<StoredResponse> => answerOf(async () => ({ payout: await payouts.decide(payout, to, reason) }))
    const key = request.headers['idempotency-key'] as string | undefined
    if (key !== undefined) pruner.touch()
    const response = key === undefined
      ? await work()
      : await runIdempotent(store, {
        scope: userId,
        key,
        fingerprint: fingerprint(request.method, request.routeOptions.url, request.params, request.body ?? null),
        ttlMs: options.idempotencyTtlMs,
        lease: { owner, ms: options.idempotencyLeaseMs }
      }, work, (err) => request.log.error({ err }, 'renewing or releasing an idempotency key failed'))
    if ('replayed' in response) reply.header(REPLAYED_HEADER, 'true')
    return reply.code(response.statusCode).send(response.body)
  }

  const description = (action: string) => `${action} With an \`Idempotency-Key\` header, the same key and body answer the first ` +
    'response again (with `Idempotent-Replayed: true`), the same key with another body is a 422, and a key whose first ' +
    `request is still running is a 409 (for at most ${options.idempotencyLeaseMs} ms after its instance stops, e.g. crashes: ` +
    `then the request runs again). Keys are per user and kept for ${options.idempotencyTtlMs} ms.`

  app.post('/payouts/:payoutId/approve', {
    ...secured,
    schema: {
      summary: 'Approve a pending payout',
      description: description('Approving an approved payout is a no-op 200; approving a rejected one is a 409.'),
      tags: ['payouts'],
      security: bearer,
      params: PayoutParams,
      headers: IdempotencyHeaders,
      response: { 200: PayoutResponse, ...errors([400, 401, 403, 404, 409, 422, 429], { 409: 'The payout is in a state this change cannot start from (approving a rejected payout, or the reverse), or the first request with this Idempotency-Key is still running.' }) }
    }
  }, async (request, reply) => decide(request, reply, request.params.payoutId, 'approved'))

  app.post('/payouts/:payoutId/reject', {
    ...secured,
    schema: {
      summary: 'Reject a pending payout, with a reason',
      description: description('Rejecting a rejected payout is a no-op 200 (the first reason stays); rejecting an approved one is a 409.'),
      tags: ['payouts'],
      security: bearer,
      params: PayoutParams,
      headers: IdempotencyHeaders,
      body: RejectBody,
      response: { 200: PayoutResponse, ...errors([400, 401, 403, 404, 409, 422, 429], { 409: 'The payout is in a state this change cannot start from (approving a rejected payout, or the reverse), or the first request with this Idempotency-Key is still running.' }) }
    }
  }, async (request, reply) => decide(request, reply, request.params.payoutId, 'rejected', request.body.reason))
}

export default payouts
