/**
 * `GET /ws/matches/:matchId`: one match's room. A snapshot (or, with `?lastSeq=&epoch=`, the missed
 * events), then the match's events live; commands of the match's organizers and participants.
 */
import type { FastifyPluginAsync } from 'fastify'
import { namesOf } from '../../plugins/matches/service.js'
import type { RoomMember } from '../../plugins/websocket/rooms.js'
import { MatchParams, MatchRoomParams, MatchRoomQuery } from '../../schemas/params.js'
import { admit, begin, current, reconciled, serve } from './session.js'

const matchRoom: FastifyPluginAsync = async (app) => {
  const { connections, timedStore: store, matches, events, commandIds } = app.matchcast

  app.get<{ Params: MatchParams, Querystring: MatchRoomQuery }>('/ws/matches/:matchId', {
    websocket: true,
    schema: { params: MatchRoomParams, querystring: MatchRoomQuery }
  }, (socket, request) => {
    const conn = connections.open(socket, request.raw.socket, request.log)
    conn.room = request.url.split('?', 1)[0]
    const { matchId } = request.params

    begin(conn, async () => {
      const admitted = await admit(app, conn, request, () => store.getMatch(matchId))
      if (admitted === undefined) return
      const { role } = admitted
      // Participants never change, so their names are read once per connection.
      let names: Promise<Record<string, string>> | undefined
      const snapshot = async (resync: boolean) => {
        const { seq, epoch, match } = await current(app, conn, matchId)
        names ??= namesOf(store, match.participants).then((known) => Object.fromEntries(known))
        conn.send({ type: 'snapshot', matchId, seq, epoch, role, match, names: await names, ...(resync && { resync: true as const }) })
      }
      const member: RoomMember = { connection: conn, held: [], resync: () => snapshot(true) }
      // Join first and hold live events, so none slips between the snapshot and going live.
      conn.onClose(connections.rooms.join(matchId, member))
      const { lastSeq, epoch } = request.query
      // A resume replays only once the stream holds everything the store does.
      if (lastSeq !== undefined) await reconciled(app, matchId)
      const replay = lastSeq === undefined ? undefined : await events.since(matchId, lastSeq, epoch)
      if (replay !== undefined) {
        conn.lastSeq.set(matchId, lastSeq!)
        if (replay.length > 0) member.held!.unshift(replay)
      } else {
        await snapshot(lastSeq !== undefined)
      }
      connections.rooms.release(matchId, member)
      serve(app, conn, (command) => commandIds.run(matchId, admitted.userId, command, () => matches.execute(matchId, admitted, command)))
    })
  })
}

export default matchRoom
