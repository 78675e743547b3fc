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

const tournamentRoom: FastifyPluginAsync = async (app) => {
  const { connections, timedStore: store } = app.matchcast

  app.get<{ Params: TournamentParams }>('/ws/tournaments/:tournamentId', {
    websocket: true,
    schema: { params: TournamentRoomParams }
  }, (socket, request) => {
    const conn = connections.open(socket, request.log)
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
        const seqs = Object.fromEntries(ids.map((id, i) => [id, now[i]!.seq]))
        const epochs = Object.fromEntries(ids.map((id, i) => [id, now[i]!.epoch]))
        conn.send({ type: 'snapshot', tournamentId, role: admitted.role, matches: now.map((c) => c.match), seqs, epochs, names, resync: true })
      })
      const members = list.map((m) => {
        const member: RoomMember = { connection: conn, held: [], resync: () => resync(m.id) }
        conn.onClose(connections.rooms.join(m.id, member))
        return [m.id, member] as const
      })
      const { seqs, epochs, matches: matchesNow } = await currentTournament(app, tournamentId, list.map((m) => m.id))
      conn.send({ type: 'snapshot', tournamentId, role: admitted.role, matches: matchesNow, seqs: Object.fromEntries(seqs), epochs: Object.fromEntries(epochs), names })
      for (const [id, member] of members) {
        conn.lastSeq.set(id, seqs.get(id)!)
        connections.rooms.release(id, member)
      }
      // A tournament room is read-only for every role.
      serve(app, conn, async () => { throw new CommandError('forbidden', 'tournament rooms are read-only') })
    })
  })
}

export default tournamentRoom
