import { randomUUID } from 'node:crypto'
import type { FastifyPluginAsync } from 'fastify'
import fp from 'fastify-plugin'
import { PayoutStateError } from '../../lib/errors.js'
import { namespace } from '../../lib/namespace.js'
import type { Match, Payout, PayoutStatus } from '../../schemas/common.js'
import type { Store } from '../store/store.js'

/** A final payout status an organizer can move a pending payout to. */
export type PayoutDecision = Exclude<PayoutStatus, 'pending'>

/** `app.matchcast.payouts`: prize payouts of completed matches, and the organizer's decision on each. */
export interface Payouts {
  /** The pending payout of a match's prize to its winner, for the result `certificateId` certifies (not stored yet), or `undefined` without a prize. */
  prizeOf (match: Match, winnerId: string, at: string, certificateId?: string): Payout | undefined
  /**
   * Moves a pending payout to `to`. Already there: resolves it unchanged (a no-op); in the other
   * final state: throws `MATCHCAST_ERR_PAYOUT_INVALID_STATE` (409). Of racing decisions one wins,
   * and the others answer from what won.
   */
  decide (payout: Payout, to: PayoutDecision, reason?: string): Promise<Payout>
}

declare module '../../lib/namespace.js' {
  interface MatchcastNamespace {
    /** matchcast-payouts */
    payouts: Payouts
  }
}

export function createPayouts (store: Store): Payouts {
  return {
    prizeOf (match, winnerId, at, certificateId) {
      if (match.prize === undefined) return undefined
      return {
        ...(certificateId !== undefined && { certificateId }),
        id: randomUUID(),
        tournamentId: match.tournamentId,
        matchId: match.id,
        userId: winnerId,
        amount: match.prize.amount,
        currency: match.prize.currency,
        status: 'pending',
        createdAt: at,
        updatedAt: at
      }
    },
    async decide (payout, to, reason) {
      let current = payout
      if (current.status === 'pending') {
        // Lost a race with another decision: answer from what won.
        current = (await store.setPayoutStatus(payout.id, 'pending', to, reason)) ?? (await store.getPayout(payout.id))!
      }
      if (current.status !== to) throw new PayoutStateError(`payout ${payout.id} is ${current.status}; it cannot become ${to}`)
      return current
    }
  }
}

const plugin: FastifyPluginAsync = async (app) => {
  const ns = namespace(app)
  ns.payouts = createPayouts(ns.timedStore!)
}

/** Prize payouts (`app.matchcast.payouts`). */
export const matchcastPayouts = fp(plugin, { name: 'matchcast-payouts', fastify: '5.x', dependencies: ['matchcast-store'], decorators: {} })
export default matchcastPayouts
