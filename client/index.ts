/**
 * matchcast/client: a typed browser and Node SDK for matchcast rooms. It reconnects and resumes by
 * the close-code table, applies every match event once in seq order, and sends each command once
 * whatever the connection does. No Node built-ins and no server code: its protocol types come from
 * the TypeBox schemas, type-only.
 *
 *   const client = connect({ url: 'wss://api.example.com', token: async () => getJwt() })
 *   const room = client.match('m1')
 *   room.on('event', (event) => { … })
 *   await room.send({ type: 'score.update', scores: { 'u-a': 2 } })
 */
import { MatchRoom, type ResumeFrom } from './match-room.js'
import { resolveOptions, type ConnectOptions } from './options.js'
import { TournamentRoom } from './tournament-room.js'

export interface MatchcastClient {
  /** Opens the room of match `matchId`; `resume` continues from a position the caller kept. */
  match (matchId: string, resume?: ResumeFrom): MatchRoom
  /** Opens the (read-only) room of every match of tournament `tournamentId`. */
  tournament (tournamentId: string): TournamentRoom
  /** Closes every room of this client. */
  close (): void
}

/** A client for one matchcast API. Throws `MatchcastError('invalid_options')` naming a bad option. */
export function connect (options: ConnectOptions): MatchcastClient {
  const resolved = resolveOptions(options)
  const rooms = new Set<MatchRoom | TournamentRoom>()
  const track = <R extends MatchRoom | TournamentRoom>(open: (onStop: () => void) => R): R => {
    const room: R = open(() => rooms.delete(room))
    rooms.add(room)
    return room
  }
  return {
    match: (matchId, resume) => track((onStop) => new MatchRoom(resolved, matchId, resume, onStop)),
    tournament: (tournamentId) => track((onStop) => new TournamentRoom(resolved, tournamentId, onStop)),
    close () {
      for (const room of [...rooms]) room.close()
    }
  }
}

export { MatchcastError, type MatchcastErrorCode } from './errors.js'
export type { BackoffOptions } from './backoff.js'
export type { Command } from './commands.js'
export type { ConnectOptions, WebSocketConstructor, WebSocketLike } from './options.js'
export type { RoomEvents, RoomStatus } from './room.js'
export type { MatchRoom, Position, ResumeFrom } from './match-room.js'
export type { TournamentRoom } from './tournament-room.js'
export type { Match, MatchState, Role, Scores } from '../schemas/common.js'
export type { ClientCommand, CommandType } from '../schemas/commands.js'
export type { EventType, MatchEvent } from '../schemas/events.js'
export type { ErrorDetail, MatchSnapshotFrame, TournamentSnapshotFrame, WsErrorCode } from '../schemas/frames.js'
