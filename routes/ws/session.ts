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

/** How many times a room reads a match and its stream before it shows what it has (each read after a repair). */
const RECONCILE_ROUNDS = 3

/**
 * The match as it is now and the seq it reflects, which becomes the connection's position in the
 * match. The position is read first, so the match reflects at least it. When the store holds
 * changes the stream has not announced (their events still in the outbox: e.g. the instance that
 * committed them died before relaying them), they are relayed now, or the match starts a new
 * epoch, and both are read again: the snapshot never shows a client a match its stream lags behind.
 */
export async function current (app: FastifyInstance, conn: Connection, matchId: string) {
  const { events, timedStore: store } = app.matchcast
  let position = await events.position(matchId)
  let match = (await store.getMatch(matchId))!
  for (let round = 1; round < RECONCILE_ROUNDS && await events.reconcile(matchId, position, match.version); round++) {
    position = await events.position(matchId)
    match = (await store.getMatch(matchId))!
  }
  conn.lastSeq.set(matchId, position.seq)
  return { seq: position.seq, epoch: position.epoch, match }
}

/** Before a resume's replay: whatever the store holds that the stream has not announced yet is relayed first. */
export async function reconciled (app: FastifyInstance, matchId: string): Promise<void> {
  const { events, timedStore: store } = app.matchcast
  const position = await events.position(matchId)
  await events.reconcile(matchId, position, (await store.getMatch(matchId))!.version)
}

/** `current` for a tournament room: every match's position (of `ids`), then the tournament's matches. */
export async function currentTournament (app: FastifyInstance, tournamentId: string, ids: string[]) {
  const { events, timedStore: store } = app.matchcast
  for (let round = 1; ; round++) {
    const read = await Promise.all(ids.map((id) => events.position(id)))
    // A Map, since a match id may be spelled like a built-in property (`__proto__`).
    const positions = new Map(ids.map((id, i) => [id, read[i]!] as const))
    const matches = await store.listMatches(tournamentId)
    const repaired = round < RECONCILE_ROUNDS && (await Promise.all(matches.map(async (m) => {
      const position = positions.get(m.id)
      return position !== undefined && await events.reconcile(m.id, position, m.version)
    }))).includes(true)
    if (!repaired) return { positions, matches }
  }
}
