/**
 * The match command service, without Fastify: the WebSocket rooms and the HTTP finalize both use
 * it. It reads the match, asks the state machine for the transition, writes it with a
 * compare-and-set (with the winner's certificate and prize payout when the match completes, all or
 * nothing) and its event to the outbox in the same write, then hands the event to the broadcaster,
 * which relays it from the outbox.
 */
import { randomUUID } from 'node:crypto'
import { CommandError, StoreTimeoutError, type StoreTimeout } from '../../lib/errors.js'
import { SerialByKey } from '../../lib/serial.js'
import type { Certificate, Match, Payout } from '../../schemas/common.js'
import type { MatchCommand } from '../../schemas/commands.js'
import type { PendingEvent } from '../../schemas/events.js'
import type { MatchEvents } from '../broadcast/index.js'
import type { Certificates } from '../certificates/index.js'
import type { CertificateSigner } from '../certificates/signer.js'
import type { Payouts } from '../payouts/index.js'
import type { Retirement, Store } from '../store/store.js'
import { RULES, decide, type Actor } from './machine.js'

export interface CommandResult {
  match: Match
  /** Issued by `match.finalize`. */
  certificate?: Certificate | undefined
  /** Created by `match.finalize` of a match with a prize. */
  payout?: Payout | undefined
}

export interface MatchService {
  /**
   * Applies `command` to the match as `actor`: checks role and state, writes the change with a
   * compare-and-set, then hands the event to the broadcaster. Throws `CommandError`.
   */
  execute (matchId: string, actor: Actor, command: MatchCommand): Promise<CommandResult>
  /** The certificate signer (`app.matchcast.certificates.signer`). */
  readonly signer: CertificateSigner
}

export interface MatchServiceDeps {
  store: Store
  events: Pick<MatchEvents, 'emit'>
  certificates: Certificates
  payouts: Pick<Payouts, 'prizeOf'>
  now?: () => Date
}

/** Display names of `ids`, in their order: the store's, else the id itself. */
export async function namesOf (store: Pick<Store, 'getUserNames'>, ids: readonly string[]): Promise<Map<string, string>> {
  const known = (await store.getUserNames?.(ids)) ?? new Map<string, string>()
  return new Map(ids.map((id) => [id, known.get(id) ?? id]))
}

/**
 * What a transition overturns: finalizing or cancelling a disputed match retires the result of
 * its earlier finalize, if it had one (its certificate is revoked, its pending payout rejected).
 */
function retirementOf (match: Match, event: PendingEvent, at: string): Retirement | undefined {
  if (match.state !== 'disputed') return undefined
  if (event.type === 'match_completed') {
    return { at, reason: `superseded: match ${match.id} was finalized again after a dispute (certificate ${event.data.certificateId})` }
  }
  // From `disputed` a match can only be finalized or cancelled.
  const { reason } = (event as Extract<PendingEvent, { type: 'match_cancelled' }>).data
  return { at, reason: `match ${match.id} was cancelled after a dispute: ${reason}` }
}

export function createMatchService ({ store, events, certificates, payouts, now = () => new Date() }: MatchServiceDeps): MatchService {
  // Commands of one match run one after another on this instance, so their events are emitted in
  // the order their writes were committed.
  const queue = new SerialByKey()

  async function run (matchId: string, actor: Actor, command: MatchCommand): Promise<CommandResult> {
    const match = await store.getMatch(matchId)
    if (match === undefined) throw new CommandError('invalid_state', 'match does not exist')
    const at = now()
    const { patch, event } = decide(match, actor, command, at, command.type === 'match.finalize' ? randomUUID() : undefined)
    /**
     * A write that timed out may still commit; if it does, its event goes out at once (it is in the
     * outbox too, so a relay would deliver it anyway, once).
     */
    const lateEventsToo = (write: Promise<Match | undefined>) => write.catch((err: unknown) => {
      if (err instanceof StoreTimeoutError) {
        (err as StoreTimeout).pending.then((late) => { if (late !== undefined) events.emit(matchId, event, (late as Match).version) }, () => {})
      }
      throw err
    })
    const result: { match?: Match | undefined, certificate?: Certificate | undefined, payout?: Payout | undefined } = {}
    const retire = retirementOf(match, event, at.toISOString())
    if (event.type === 'match_completed') {
      const { winnerId, scores, completedAt, certificateId } = event.data
      const [tournament, names] = await Promise.all([store.getTournament(match.tournamentId), namesOf(store, match.participants)])
      result.certificate = certificates.issue({
        id: certificateId,
        tournamentId: match.tournamentId,
        tournamentName: tournament?.name ?? match.tournamentId,
        matchId,
        userId: winnerId,
        scores,
        names: Object.fromEntries(names),
        issuedAt: completedAt
      })
      result.payout = payouts.prizeOf(match, winnerId, completedAt, certificateId)
      result.match = await lateEventsToo(store.completeMatch(matchId, match.version, patch, result.certificate, result.payout, event, retire))
      // After a retirement the store leaves out the payout of a winner paid for this match already.
      if (retire !== undefined && result.payout !== undefined && result.match !== undefined &&
        await store.getPayout(result.payout.id) === undefined) delete result.payout
    } else {
      result.match = await lateEventsToo(store.updateMatch(matchId, match.version, patch, event, retire))
    }
    if (result.match === undefined) {
      // Lost a race: someone else changed the match between our read and our write.
      const current = await store.getMatch(matchId)
      if (current === undefined || !RULES[command.type].from.includes(current.state)) {
        throw new CommandError('invalid_state', `${command.type} is not allowed while the match is ${current?.state ?? 'gone'}`)
      }
      throw new CommandError('conflict')
    }
    // Committed with its event in the outbox: from here the event is delivered even if this instance dies.
    events.emit(matchId, event, result.match.version)
    if (result.payout === undefined) delete result.payout
    return result as CommandResult
  }

  return {
    signer: certificates.signer,
    execute: (matchId, actor, command) => queue.run(matchId, () => run(matchId, actor, command))
  }
}
