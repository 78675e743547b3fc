/**
 * What both rooms do with a socket: admission (token, the room's lookup, membership, the
 * connection limit) and the frame loop (limits, parsing, `ping`, replies). A room supplies its own
 * lookup and what a command does.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { CloseCode, CommandError, WS_ERRORS } from '../../lib/errors.js'
import type { Connection } from '../../plugins/websocket/connection.js'
import type { Role } from '../../schemas/common.js'
import type { CommandId, ErrorDetail, MatchCommand, WsErrorCode } from '../../schemas/messages.js'
import { commandId, parseCommand } from './parse.js'

export interface Admitted {
  userId: string
  role: Role
}

/**
 * Token, then the room's own lookup (404 / membership), then the connection limit. Closes with the
 * matching code and resolves `undefined` on any failure.
 */
export async function admit (app: FastifyInstance, conn: Connection, request: FastifyRequest,
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
  const refused = await limiter.admit(userId, conn.id)
  if (refused !== undefined) {
    conn.close(refused)
    return undefined
  }
  conn.onClose(() => limiter.releaseConnection(userId, conn.id))
  conn.log.info({ userId, room: conn.room, role }, 'room connection opened')
  return { userId, role }
}

function sendError (conn: Connection, id: CommandId | undefined, code: WsErrorCode, message: string, details?: ErrorDetail[]): void {
  conn.send({ type: 'error', ...(id !== undefined && { id }), code, message, ...(details && { details }) })
}

/** Answers a command failure; `forbidden` also closes 4003. */
function reportFailure (conn: Connection, id: CommandId | undefined, err: unknown): void {
  if (err instanceof CommandError) {
    sendError(conn, id, err.code, err.message, err.details)
    if (err.code === 'forbidden') conn.close(CloseCode.forbidden)
    return
  }
  conn.log.error({ err }, 'command failed')
  sendError(conn, id, 'internal', WS_ERRORS.internal)
}

/**
 * The frame loop: the limiter's verdict on each frame (4010, 4009), parsing and validation,
 * `ping`; every other command goes to `onCommand`, whose success is acked.
 */
export function serve (app: FastifyInstance, conn: Connection, onCommand: (command: MatchCommand) => Promise<void>): void {
  const { limiter } = app.matchcast
  conn.ready(async (data) => {
    // The sockets keep ws's default binaryType ('nodebuffer'): every message is one Buffer.
    const refused = await limiter.frame(conn.userId!, (data as Buffer).byteLength)
    if (refused !== undefined) return conn.close(refused)
    let command
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
export function begin (conn: Connection, start: () => Promise<void>): void {
  start().catch((err: unknown) => {
    conn.log.error({ err }, 'room admission failed')
    conn.close(CloseCode.internal)
  })
}

/**
 * The match as it is now and the seq it reflects, which becomes the connection's position in the
 * match (read in this order: the position first, so the match reflects at least it).
 */
export async function current (app: FastifyInstance, conn: Connection, matchId: string) {
  const position = await app.matchcast.events.position(matchId)
  const match = (await app.matchcast.timedStore.getMatch(matchId))!
  conn.lastSeq.set(matchId, position.seq)
  return { ...position, match }
}
