/**
 * The baseline of the fixed-rate fan-out bench, in a process of its own: a bare `ws` server that
 * speaks just enough of matchcast's room protocol for the same load generator. A socket joins the
 * room named in its URL (`/ws/matches/<id>`) and first gets a snapshot-like frame with the room's
 * seq. A `score.update` from any socket of a room is serialized once, with the room's next seq,
 * into one Buffer whose bytes go to every socket of the room, then acked. The only check is
 * back-pressure: a socket whose `bufferedAmount` is over the high-water mark is skipped (matchcast's
 * default mark). No auth, store, validation or batching: the floor under matchcast's figures.
 * `GET /metrics` counts the frames sent by type under matchcast's counter name, so the load
 * generator reads both servers alike. Reports its port over IPC; `stop` closes it and exits.
 */
import { createServer } from 'node:http'
import { WebSocketServer, type WebSocket } from 'ws'

const HIGH_WATER_MARK = 1024 * 1024
const PREFIX = '/ws/matches/'

interface Room { seq: number, sockets: Set<WebSocket> }
const rooms = new Map<string, Room>()
const sent = { score_updated: 0, ack: 0 }

const server = createServer((request, response) => {
  if (request.url !== '/metrics') return response.writeHead(404).end()
  response.end(Object.entries(sent).map(([type, count]) => `matchcast_frames_sent_total{type="${type}"} ${count}\n`).join(''))
})
const wss = new WebSocketServer({ server, perMessageDeflate: false, maxPayload: 16 * 1024 })
wss.on('connection', (ws, request) => {
  const path = (request.url ?? '').split('?', 1)[0]!
  if (!path.startsWith(PREFIX)) return ws.close(4004)
  const matchId = decodeURIComponent(path.slice(PREFIX.length))
  let room = rooms.get(matchId)
  if (room === undefined) rooms.set(matchId, room = { seq: 0, sockets: new Set() })
  const joined = room
  joined.sockets.add(ws)
  ws.on('close', () => joined.sockets.delete(ws))
  ws.send(JSON.stringify({ type: 'snapshot', matchId, seq: joined.seq }))
  ws.on('message', (data) => {
    const command = JSON.parse(data.toString()) as { type: string, id?: number | string, scores?: Record<string, number> }
    if (command.type !== 'score.update') {
      ws.send(JSON.stringify({ type: 'error', id: command.id, code: 'invalid_message', message: 'only score.update' }))
      return
    }
    const event = Buffer.from(JSON.stringify({ type: 'score_updated', matchId, seq: ++joined.seq, ts: new Date().toISOString(), data: { scores: command.scores } }))
    for (const socket of joined.sockets) {
      if (socket.bufferedAmount > HIGH_WATER_MARK) continue
      socket.send(event, { binary: false })
      sent.score_updated++
    }
    ws.send(JSON.stringify({ type: 'ack', id: command.id }))
    sent.ack++
  })
})

process.on('message', (message: string) => {
  if (message !== 'stop') return
  for (const ws of wss.clients) ws.terminate()
  wss.close(() => server.close(() => process.exit(0)))
})
// Never outlive the bench that started it.
process.on('disconnect', () => process.exit(1))
server.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, () => process.send!({ type: 'ready', port: (server.address() as { port: number }).port }))
