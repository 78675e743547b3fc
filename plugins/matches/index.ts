import type { FastifyPluginAsync } from 'fastify'
import fp from 'fastify-plugin'
import { Type, type Static } from 'typebox'
import { namespace } from '../../lib/namespace.js'
import { parseOptions, type OptionsInput } from '../../lib/options.js'
import { CommandIds, DEFAULT_COMMAND_ID_TTL_MS } from './command-ids.js'
import { RedisCommandIds } from './redis-command-ids.js'
import { createMatchService, type MatchService } from './service.js'

declare module '../../lib/namespace.js' {
  interface MatchcastNamespace {
    /** matchcast-matches: applies commands to matches. */
    matches: MatchService
    /** matchcast-matches: the remembered replies of command ids (exactly-once commands). */
    commandIds: CommandIds
  }
}

export const MatchesOptions = Type.Object({
  /**
   * How long the reply to a command `id` is remembered per user and match: the same command with the
   * same id within it is answered with that reply and not applied again. 0 remembers nothing.
   * @default 300000
   */
  commandIdTtlMs: Type.Integer({ minimum: 0, default: DEFAULT_COMMAND_ID_TTL_MS })
}, { additionalProperties: false })
export type MatchesOptions = Static<typeof MatchesOptions>

const plugin: FastifyPluginAsync<OptionsInput<MatchesOptions>> = async (app, rawOptions) => {
  const { commandIdTtlMs } = parseOptions(MatchesOptions, rawOptions, 'matches')
  const ns = namespace(app)
  ns.matches = createMatchService({ store: ns.timedStore!, events: ns.events!, certificates: ns.certificates!, payouts: ns.payouts! })
  // With Redis (registered before matchcast-broadcast, which this plugin follows), replies are shared.
  const redis = ns.redis
  // Warned once per Redis outage: commands then run with this instance's memory of ids only.
  let warned = false
  const onReady = () => { warned = false }
  redis?.client.on('ready', onReady)
  app.addHook('onClose', async () => { redis?.client.off('ready', onReady) })
  ns.commandIds = new CommandIds({
    ttlMs: commandIdTtlMs,
    ...(redis !== undefined && {
      shared: {
        ids: new RedisCommandIds({ client: redis.client, prefix: redis.prefix, ttlMs: commandIdTtlMs }),
        onError: (err: unknown) => {
          if (warned) return
          warned = true
          app.log.warn({ err }, 'matchcast: command ids cannot be shared through Redis; until it answers, each instance remembers its own')
        }
      }
    })
  })
}

/**
 * The match command service (`app.matchcast.matches`), shared by WebSocket rooms and HTTP routes,
 * and the remembered replies of command ids (`app.matchcast.commandIds`).
 */
export const matchcastMatches = fp(plugin, {
  name: 'matchcast-matches',
  fastify: '5.x',
  dependencies: ['matchcast-store', 'matchcast-broadcast', 'matchcast-certificates', 'matchcast-payouts'],
  decorators: {}
})
export default matchcastMatches
export { createMatchService, type MatchService, type MatchServiceDeps, type CommandResult } from './service.js'
export { CommandIds, type Outcome, type SharedCommandIds } from './command-ids.js'
export { RedisCommandIds } from './redis-command-ids.js'
