/**
 * The SDK as a Node service of the host would use it, from the installed package: follows a match
 * room (Node 20 has no global WebSocket, so `ws` is passed in) and sends one command. Prints the
 * event that command produced, as JSON, then closes.
 */
import WebSocket from 'ws'
import { connect, type MatchEvent } from 'matchcast/client'

const [url, token] = process.argv.slice(2) as [string, string]
const client = connect({ url, token: () => token, WebSocket })
const room = client.match('m1')
room.on('event', (event: MatchEvent) => {
  if (event.type !== 'score_updated') return
  process.stdout.write(`${JSON.stringify({ seq: event.seq, scores: event.data.scores, state: room.state?.state })}\n`)
  client.close()
})
room.on('error', (err) => {
  process.stderr.write(`${err.code}: ${err.message}\n`)
  process.exitCode = 1
  client.close()
})
await room.send({ type: 'score.update', scores: { 'u-a': 1, 'u-b': 0 } })
