import { randomUUID } from 'node:crypto'
import type { FastifyPluginAsync } from 'fastify'
import fp from 'fastify-plugin'
import { Type, type Static } from 'typebox'
import type { Certificate, Match, Payout } from '../schemas/common.js'
import type { MatchCommand } from '../schemas/messages.js'
import type { MatchEvents } from './broadcast/index.js'
import { createCertificateSigner, type CertificateSigner } from './certificates.js'
import { CommandError, StoreTimeoutError, type StoreTimeout } from './errors.js'
import { RULES, decide, type Actor } from './match-machine.js'
import { namespace } from './namespace.js'
import { parseOptions, type OptionsInput } from './options.js'
import type { Store } from './store/store.js'

export const MatchesOptions = Type.Object({
  certificates: Type.Object({
    /** Ed25519 private key (PEM) that signs certificate codes. @default a key generated at start (codes verify on this process only) */
    privateKey: Type.Optional(Type.String({ minLength: 1 }))
  }, { default: {}, additionalProperties: false })
}, { additionalProperties: false })
export type MatchesOptions = Static<typeof MatchesOptions>

export interface CommandResult {
  match: Match
  /** Issued by `match.finalize`. */
  certificate?: Certificate
  /** Created by `match.finalize` of a match with a prize. */
  payout?: Payout
}

export interface MatchService {
  /**
   * Applies `command` to the match as `actor`: checks role and state, writes the change with a
   * compare-and-set, then hands the event to the broadcaster. Throws `CommandError`.
   */
  execute (matchId: string, actor: Actor, command: MatchCommand): Promise<CommandResult>
  readonly signer: CertificateSigner
}

export interface MatchServiceDeps {
  store: Store
  events: Pick<MatchEvents, 'emit'>
  signer: CertificateSigner
  now?: () => Date
}

/** The command service, without Fastify: the WebSocket rooms and the HTTP finalize both use it. */
export function createMatchService ({ store, events, signer, now = () => new Date() }: MatchServiceDeps): MatchService {
  // Commands of one match run one after another on this instance, so their events are emitted in
  // the order their writes were committed.
  const queues = new Map<string, Promise<unknown>>()

  async function run (matchId: string, actor: Actor, command: MatchCommand): Promise<CommandResult> {
    const match = await store.getMatch(matchId)
    if (match === undefined) throw new CommandError('invalid_state', 'match does not exist')
    const { patch, event } = decide(match, actor, command, now())
    /** A write that timed out may still commit; if it does, its event goes out as usual. */
    const lateEventsToo = (write: Promise<Match | undefined>) => write.catch((err: unknown) => {
      if (err instanceof StoreTimeoutError) {
        (err as StoreTimeout).pending.then((late) => { if (late !== undefined) events.emit(matchId, event) }, () => {})
      }
      throw err
    })
    let updated: Match | undefined
    let certificate: Certificate | undefined
    let payout: Payout | undefined
    if (event.type === 'match_completed') {
      const tournament = await store.getTournament(match.tournamentId)
      const fields = {
        id: randomUUID(),
        tournamentId: match.tournamentId,
        tournamentName: tournament?.name ?? match.tournamentId,
        matchId,
        userId: event.data.winnerId,
        scores: event.data.scores,
        issuedAt: event.data.completedAt
      }
      certificate = { ...fields, code: signer.sign(fields) }
      if (match.prize !== undefined) {
        payout = {
          id: randomUUID(),
          tournamentId: match.tournamentId,
          matchId,
          userId: event.data.winnerId,
          amount: match.prize.amount,
          currency: match.prize.currency,
          status: 'pending',
          createdAt: event.data.completedAt,
          updatedAt: event.data.completedAt
        }
      }
      updated = await lateEventsToo(store.completeMatch(matchId, match.version, patch, certificate, payout))
    } else {
      updated = await lateEventsToo(store.updateMatch(matchId, match.version, patch))
    }
    if (updated === undefined) {
      // Lost a race: someone else changed the match between our read and our write.
      const current = await store.getMatch(matchId)
      if (current === undefined || !RULES[command.type].from.includes(current.state)) {
        throw new CommandError('invalid_state', `${command.type} is not allowed while the match is ${current?.state ?? 'gone'}`)
      }
      throw new CommandError('conflict')
    }
    events.emit(matchId, event)
    const result: CommandResult = { match: updated }
    if (certificate !== undefined) result.certificate = certificate
    if (payout !== undefined) result.payout = payout
    return result
  }

  return {
    signer,
    execute (matchId, actor, command) {
      const previous = queues.get(matchId) ?? Promise.resolve()
      const next = previous.catch(() => {}).then(() => run(matchId, actor, command))
      queues.set(matchId, next)
      // Forget the queue once it drains, so idle matches hold no memory.
      const forget = () => { if (queues.get(matchId) === next) queues.delete(matchId) }
      next.then(forget, forget)
      return next
    }
  }
}

const plugin: FastifyPluginAsync<OptionsInput<MatchesOptions>> = async (app, rawOptions) => {
  const options = parseOptions(MatchesOptions, rawOptions, 'matches')
  const ns = namespace(app)
  ns.matches = createMatchService({
    store: ns.timedStore!,
    events: ns.events!,
    signer: createCertificateSigner(options.certificates.privateKey)
  })
}

/** The match command service (`app.matchcast.matches`), shared by WebSocket rooms and HTTP routes. */
export const matchcastMatches = fp(plugin, {
  name: 'matchcast-matches',
  fastify: '5.x',
  dependencies: ['matchcast-store', 'matchcast-broadcast']
})
export default matchcastMatches
