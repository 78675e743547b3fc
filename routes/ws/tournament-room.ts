/**
 * `GET /ws/tournaments/:tournamentId`: every match of a tournament, read-only. A snapshot of all its
 * matches, then the events of each, in its own seq order.
 */
import type { FastifyPluginAsync } from 'fastify'
import { CommandError } from '../../lib/errors.js'
import { namesOf } from '../../plugins/matches/service.js'
import { coalesceResyncs, type RoomMember } from '../../plugins/websocket/rooms.js'
import { TournamentParams, TournamentRoomParams } from '../../schemas/params.js'
import { admit, begin, current, currentTournament, serve } from './session.js'

/** A tournament snapshot's `seqs` and `epochs`: match id → where that match's sequence stands. */
function framed (positions: ReadonlyMap<string, { seq: number, epoch: string }>): { seqs: Record<string, number>, epochs: Record<string, string> } {
  const entries = [...positions]
  return {
    seqs: Object.fromEntries(entries.map(([id, p]) => [id, p.seq])),
    epochs: Object.fromEntries(entries.map(([id, p]) => [id, p.epoch]))
  }
}

const tournamentRoom: FastifyPluginAsync = async (app) => {
  const { connections, timedStore: store } = app.matchcast

  app.get<{ Params: TournamentParams }>('/ws/tournaments/:tournamentId', {
    websocket: true,
    schema: { params: TournamentRoomParams }
  }, (socket, request) => {
    const conn = connections.open(socket, request.raw.socket, request.log)
    conn.room = request.url.split('?', 1)[0]
    const { tournamentId } = request.params

    begin(conn, async () => {
      const admitted = await admit(app, conn, request, async () => (await store.getTournament(tournamentId)) && { tournamentId })
      if (admitted === undefined) return
      const list = await store.listMatches(tournamentId)
      const names = Object.fromEntries(await namesOf(store, [...new Set(list.flatMap((m) => m.participants))]))
      // Resyncs asked for together (e.g. every match when Redis returns): one snapshot holding those matches.
      const resync = coalesceResyncs(async (ids) => {
        const now = await Promise.all(ids.map((id) => current(app, conn, id)))
        const positions = new Map(ids.map((id, i) => [id, now[i]!] as const))
        conn.send({ type: 'snapshot', tournamentId, role: admitted.role, matches: now.map((c) => c.match), ...framed(positions), names, resync: true })
      })
      const members = list.map((m) => {
        const member: RoomMember = { connection: conn, held: [], resync: () => resync(m.id) }
        conn.onClose(connections.rooms.join(m.id, member))
        return [m.id, member] as const
      })
      const { positions, matches: matchesNow } = await currentTournament(app, tournamentId, list.map((m) => m.id))
      conn.send({ type: 'snapshot', tournamentId, role: admitted.role, matches: matchesNow, ...framed(positions), names })
      for (const [id, member] of members) {
        conn.lastSeq.set(id, positions.get(id)!.seq)
        connections.rooms.release(id, member)
      }
      // A tournament room is read-only for every role.
      serve(app, conn, async () => { throw new CommandError('forbidden', 'tournament rooms are read-only') })
    })
  })
}

export default tournamentRoom
