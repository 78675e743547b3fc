/**
 * What the HTTP side routes share: the route options of a limited or a secured route, and the
 * membership checks of the caller. Built once by the parent plugin (`index.ts`) and handed to
 * every resource plugin.
 */
import type { FastifyInstance, FastifyRequest, onRequestAsyncHookHandler } from 'fastify'
import { ForbiddenError, NotFoundError } from '../../lib/errors.js'
import type { Match, Role } from '../../schemas/common.js'
import { BEARER_SCHEME } from '../../plugins/openapi/index.js'
import type { HttpRoutesOptions } from './options.js'

export interface RouteContext {
  options: HttpRoutesOptions
  /** Told of every request that uses an `Idempotency-Key`: expired keys are pruned once due. */
  pruner: { touch (): void }
  /** Route `config` of a rate-limited side route. */
  config: Record<string, unknown>
  /** Options of a route that needs a valid bearer token (401 otherwise), rate-limited. */
  secured: { onRequest: onRequestAsyncHookHandler, config: Record<string, unknown> }
  /** The OpenAPI `security` of a secured route. */
  bearer: Array<Record<string, string[]>>
  /** The caller's user id (on a secured route). */
  userOf (request: FastifyRequest): string
  /** The caller's role in the tournament; 403 for a non-member. */
  roleIn (tournamentId: string, userId: string): Promise<Role>
  /** 403 unless the caller organizes the tournament. */
  requireOrganizer (tournamentId: string, userId: string): Promise<void>
  /** 404 for an unknown tournament, 403 unless the caller organizes it. */
  tournamentAsOrganizer (tournamentId: string, userId: string): Promise<void>
  /** The match, or 404. */
  matchOf (matchId: string): Promise<Match>
}

export function routeContext (app: FastifyInstance, options: HttpRoutesOptions, config: Record<string, unknown>, pruner: RouteContext['pruner']): RouteContext {
  const { auth, timedStore: store } = app.matchcast
  const roleIn = async (tournamentId: string, userId: string): Promise<Role> => {
    const role = await store.getRole(tournamentId, userId)
    if (role === undefined) throw new ForbiddenError('not a member of this tournament')
    return role
  }
  const requireOrganizer = async (tournamentId: string, userId: string): Promise<void> => {
    if (await roleIn(tournamentId, userId) !== 'organizer') throw new ForbiddenError('organizers only')
  }
  return {
    options,
    pruner,
    config,
    secured: { onRequest: auth.authenticate, config },
    bearer: [{ [BEARER_SCHEME]: [] }],
    userOf: auth.userOf,
    roleIn,
    requireOrganizer,
    async tournamentAsOrganizer (tournamentId, userId) {
      if (await store.getTournament(tournamentId) === undefined) throw new NotFoundError(`tournament ${tournamentId} does not exist`)
      await requireOrganizer(tournamentId, userId)
    },
    async matchOf (matchId) {
      const match = await store.getMatch(matchId)
      if (match === undefined) throw new NotFoundError(`match ${matchId} does not exist`)
      return match
    }
  }
}
