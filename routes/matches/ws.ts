/**
 * The WebSocket rooms: `GET /ws/matches/:matchId` and `GET /ws/tournaments/:tournamentId`.
 */
import type { FastifyInstance, FastifyPluginAsync, FastifyRequest } from 'fastify'
import { Compile } from 'typebox/compile'
import type { RawData } from 'ws'
import type { Role } from '../../schemas/common.js'
import { Commands, type ClientCommand, type CommandId, type ErrorDetail, type MatchCommand, type WsErrorCode } from '../../schemas/messages.js'
import { MatchParams, MatchRoomQuery, TournamentParams } from '../../schemas/matches.js'
import type { Connection } from '../../plugins/connection.js'
import { CloseCode, CommandError, WS_ERRORS } from '../../plugins/errors.js'
import type { RoomMember } from '../../plugins/rooms.js'

const validators = Object.fromEntries(Object.entries(Commands).map(([type, schema]) => [type, Compile(schema)])) as
  { [K in keyof typeof Commands]: ReturnType<typeof Compile<(typeof Commands)[K]>> }

/** Parses and validates one frame; throws `CommandError` (invalid_json, unknown_type, invalid_message). */
export function parseCommand (data: RawData): ClientCommand {
  let value: unknown
  try {
    value = JSON.parse(data.toString())
  } catch {
    throw new CommandError('invalid_json')
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new CommandError('invalid_message', 'a command is a JSON object with a string "type"')
  }
  const type = (value as { type?: unknown }).type
  if (typeof type !== 'string') throw new CommandError('invalid_message', 'a command is a JSON object with a string "type"')
  if (!Object.hasOwn(validators, type)) throw new CommandError('unknown_type', `unknown command type ${JSON.stringify(type.slice(0, 64))}`)
  const validator = validators[type as keyof typeof validators]
  if (validator.Check(value)) return value as ClientCommand
  const details: ErrorDetail[] = [...validator.Errors(value)].slice(0, 10)
    .map((e) => ({ path: e.instancePath === '' ? '/' : e.instancePath, message: e.keyword === 'boolean' ? 'unknown field' : e.message }))
  throw Object.assign(new CommandError('invalid_message', `${type}: ${details[0]!.path} ${details[0]!.message}`), { details })
}

function commandId (data: RawData): CommandId | undefined {
  try {
    const id = (JSON.parse(data.toString()) as { id?: unknown }).id
    return typeof id === 'string' || (typeof id === 'number' && Number.isInteger(id)) ? id : undefined
  } catch {
    return undefined
  }
}

interface Admitted {
  userId: string
  role: Role
}

/**
 * Admission shared by both rooms: token, then the room's own lookup (404 / membership), then the
 * connection limit. Closes with the matching code and resolves `undefined` on any failure.
 */
async function admit (app: FastifyInstance, conn: Connection, request: FastifyRequest,
  lookup: () => Promise<{ tournamentId: string } | undefined>): Promise<Admitted | undefined> {
  const { auth, timedStore: store, limiter } = app.matchcast
  const token = auth.extractToken(request)
  let userId: string
  try {
    if (token === undefined) throw new Error('no token')
    userId = auth.verify(token)
  } catch {
    conn.close(CloseCode.unauthorized)
    return undefined
  }
  conn.userId = userId
  const found = await lookup()
  if (found === undefined) {
    conn.close(CloseCode.notFound)
    return undefined
  }
  const role = await store.getRole(found.tournamentId, userId)
  if (role === undefined) {
    conn.close(CloseCode.forbidden)
    return undefined
  }
  if (!await limiter.acquireConnection(userId, conn.id)) {
    conn.close(CloseCode.tooManyConnections)
    return undefined
  }
  conn.onClose(() => limiter.releaseConnection(userId, conn.id))
  return { userId, role }
}

function sendError (conn: Connection, id: CommandId | undefined, code: WsErrorCode, message: string, details?: ErrorDetail[]): void {
  conn.send({ type: 'error', ...(id !== undefined && { id }), code, message, ...(details && { details }) })
}

/** Answers a command failure; `forbidden` also closes 4003. */
function reportFailure (conn: Connection, id: CommandId | undefined, err: unknown): void {
  if (err instanceof CommandError) {
    sendError(conn, id, err.code, err.message, (err as CommandError & { details?: ErrorDetail[] }).details)
    if (err.code === 'forbidden') conn.close(CloseCode.forbidden)
    return
  }
  conn.log.error({ err }, 'command failed')
  sendError(conn, id, 'internal', WS_ERRORS.internal)
}

/**
 * The frame loop shared by both rooms: payload size (4010), message rate (4009), parsing and
 * validation, `ping`; every other command goes to `onCommand`, whose success is acked.
 */
function serve (app: FastifyInstance, conn: Connection, onCommand: (command: MatchCommand) => Promise<void>): void {
  const { limiter } = app.matchcast
  conn.ready(async (data) => {
    // The sockets keep ws's default binaryType ('nodebuffer'): every message is one Buffer.
    const size = (data as Buffer).byteLength
    if (size > limiter.options.maxPayloadBytes) return conn.close(CloseCode.payloadTooLarge)
    if (!(await limiter.check(conn.userId!)).allowed) return conn.close(CloseCode.rateLimited)
    let command: ClientCommand
    try {
      command = parseCommand(data)
    } catch (err) {
      return reportFailure(conn, commandId(data), err)
    }
    const reply = command.id === undefined ? {} : { id: command.id }
    if (command.type === 'ping') return conn.send({ type: 'pong', ...reply })
    try {
      await onCommand(command)
      conn.send({ type: 'ack', ...reply })
    } catch (err) {
      reportFailure(conn, command.id, err)
    }
  })
}

/** Runs a room's admission; an unexpected failure (e.g. the store is down) closes 1011. */
function begin (conn: Connection, start: () => Promise<void>): void {
  start().catch((err: unknown) => {
    conn.log.error({ err }, 'room admission failed')
    conn.close(CloseCode.internal)
  })
}

const routes: FastifyPluginAsync = async (app) => {
  const { connections, timedStore: store, matches, events } = app.matchcast

  /**
   * The match as it is now and the seq it reflects, which becomes the connection's position in
   * the match (read in this order: the position first, so the match reflects at least it).
   */
  async function current (conn: Connection, matchId: string) {
    const position = await events.position(matchId)
    const match = (await store.getMatch(matchId))!
    conn.lastSeq.set(matchId, position.seq)
    return { ...position, match }
  }

  app.get<{ Params: MatchParams, Querystring: MatchRoomQuery }>('/ws/matches/:matchId', {
    websocket: true,
    schema: { params: MatchParams, querystring: MatchRoomQuery }
  }, (socket, request) => {
    const conn = connections.open(socket, request.log)
    const { matchId } = request.params

    begin(conn, async () => {
      const admitted = await admit(app, conn, request, () => store.getMatch(matchId))
      if (admitted === undefined) return
      const { role } = admitted
      const snapshot = async (resync: boolean) => {
        const { seq, epoch, match } = await current(conn, matchId)
        conn.send({ type: 'snapshot', matchId, seq, epoch, role, match, ...(resync && { resync: true as const }) })
      }
      const member: RoomMember = { connection: conn, held: [], resync: () => snapshot(true) }
      // Join first and hold live events, so none slips between the snapshot and going live.
      conn.onClose(connections.rooms.join(matchId, member))
      const { lastSeq, epoch } = request.query
      const replay = lastSeq === undefined ? undefined : await events.since(matchId, lastSeq, epoch)
      if (replay !== undefined) {
        conn.lastSeq.set(matchId, lastSeq!)
        if (replay.length > 0) member.held!.unshift(replay)
      } else {
        await snapshot(lastSeq !== undefined)
      }
      connections.rooms.release(matchId, member)
      serve(app, conn, async (command) => { await matches.execute(matchId, admitted, command) })
    })
  })

  app.get<{ Params: TournamentParams }>('/ws/tournaments/:tournamentId', {
    websocket: true,
    schema: { params: TournamentParams }
  }, (socket, request) => {
    const conn = connections.open(socket, request.log)
    const { tournamentId } = request.params

    begin(conn, async () => {
      const admitted = await admit(app, conn, request, async () => (await store.getTournament(tournamentId)) && { tournamentId })
      if (admitted === undefined) return
      const list = await store.listMatches(tournamentId)
      // A resync of one match: a tournament snapshot holding just that match.
      const resyncMatch = async (id: string) => {
        const { seq, match } = await current(conn, id)
        conn.send({ type: 'snapshot', tournamentId, role: admitted.role, matches: [match], seqs: { [id]: seq }, resync: true })
      }
      const members = list.map((m) => {
        const member: RoomMember = { connection: conn, held: [], resync: () => resyncMatch(m.id) }
        conn.onClose(connections.rooms.join(m.id, member))
        return [m.id, member] as const
      })
      const seqs: Record<string, number> = {}
      for (const m of list) seqs[m.id] = (await events.position(m.id)).seq
      const matchesNow = await store.listMatches(tournamentId)
      conn.send({ type: 'snapshot', tournamentId, role: admitted.role, matches: matchesNow, seqs })
      for (const [id, member] of members) {
        conn.lastSeq.set(id, seqs[id]!)
        connections.rooms.release(id, member)
      }
      // A tournament room is read-only for every role.
      serve(app, conn, async () => { throw new CommandError('forbidden', 'tournament rooms are read-only') })
    })
  })
}

export default routes
