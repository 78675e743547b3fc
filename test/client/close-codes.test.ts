/**
 * The SDK's reaction to the closes that stop a room, need a new token, reject a command or ask it
 * to slow down (SPEC sections 7 and 10), each produced by the real server: 4001, 4003, 4004, 4008,
 * 4009, 4010 and 1009. The closes after which it resumes are in reconnect.test.ts.
 */
import t from 'tap'
import { reactionTo, type Reaction } from '../../client/close-codes.js'
import type { MatchSnapshotFrame } from '../../client/index.js'
import { AbnormalClosure, CloseCode, type Reconnect } from '../../protocol/close-codes.js'
import { as, client, startApp, token } from '../helper.js'
import { instrumentedWebSocket, sdk, watch } from './helper.js'

t.test('4001: a new token, then reconnect; a second 4001 in a row stops the room', async (t) => {
  const { wsUrl } = await startApp(t)
  const tokens = [token('u-org', { secret: 'not-the-secret-of-this-server-0123456789' }), token('u-org')]
  let calls = 0
  const ws = instrumentedWebSocket()
  const room = sdk(t, wsUrl, 'u-org', { WebSocket: ws.WebSocket, token: () => tokens[calls++]! }).match('m1')
  const log = watch<MatchSnapshotFrame>(room)
  await log.status('live')
  t.equal(calls, 2, 'token() asked again after the 4001')
  t.same(ws.closes, [4001])
  t.same(log.statuses, ['connecting', 'live'])

  let asked = 0
  const ws2 = instrumentedWebSocket()
  const refused = sdk(t, wsUrl, 'u-org', { WebSocket: ws2.WebSocket, token: () => { asked++; return 'not.a.jwt' } }).match('m1')
  const log2 = watch<MatchSnapshotFrame>(refused)
  await log2.status('closed')
  t.equal(asked, 2)
  t.same(ws2.closes, [4001, 4001])
  t.match(log2.errors, [{ name: 'MatchcastError', code: 'unauthorized', closeCode: 4001, message: 'unauthorized' }])
  t.same(log2.statuses, ['connecting', 'closed'])
})

t.test('a token the WebSocket refuses as a subprotocol entry counts as a 4001', async (t) => {
  const { app, wsUrl } = await startApp(t)
  const room = sdk(t, wsUrl, 'u-org', { token: () => 'a token with spaces' }).match('m1')
  const log = watch<MatchSnapshotFrame>(room)
  await log.status('closed')
  t.match(log.errors, [{ code: 'unauthorized', closeCode: 4001, message: 'the token is not a valid subprotocol entry' }])
  t.equal(app.matchcast.connections.size, 0)
})

t.test('token() failing is retried after a back-off', async (t) => {
  const { wsUrl } = await startApp(t)
  let calls = 0
  const room = sdk(t, wsUrl, 'u-org', {
    token: async () => {
      if (calls++ < 2) throw new Error('the sign-in service is down')
      return token('u-org')
    }
  }).match('m1')
  const log = watch<MatchSnapshotFrame>(room)
  await log.status('live')
  t.equal(calls, 3)
  t.same(log.errors, [])
})

const stops: Array<[number, string, string, string, Record<string, unknown>]> = [
  [4003, 'forbidden', 'u-x', 'm1', {}],
  [4004, 'not_found', 'u-org', 'no-such-match', {}]
]
for (const [code, name, user, match, options] of stops) {
  t.test(`${code}: the room stops and reports ${name}; it does not reconnect`, async (t) => {
    const { app, wsUrl } = await startApp(t, options)
    const ws = instrumentedWebSocket()
    const room = sdk(t, wsUrl, user, { WebSocket: ws.WebSocket }).match(match)
    const log = watch<MatchSnapshotFrame>(room)
    const pending = room.send({ type: 'match.start' }).catch((err: unknown) => err)
    await log.status('closed')
    t.match(log.errors, [{ code: name, closeCode: code, message: name }])
    t.same(ws.closes, [code])
    t.match(await pending, { code: 'closed', closeCode: code, message: `the room stopped before the reply: ${name}` })
    t.equal(ws.sockets.length, 1, 'no second socket')
    t.equal(app.matchcast.connections.size, 0)
  })
}

t.test('4003 after a command the role may not send: the command rejects forbidden, then the room stops', async (t) => {
  const { wsUrl } = await startApp(t)
  const room = sdk(t, wsUrl, 'u-fan').match('m1')
  const log = watch<MatchSnapshotFrame>(room)
  await log.status('live')
  await t.rejects(room.send({ type: 'match.start' }), { code: 'forbidden', closeCode: undefined })
  await log.status('closed')
  t.match(log.errors, [{ code: 'forbidden', closeCode: 4003 }])
})

t.test('4008: a room over the connection limit stops; the others stay live', async (t) => {
  const { wsUrl } = await startApp(t, { rateLimit: { maxConnectionsPerUser: 1 } })
  const c = sdk(t, wsUrl, 'u-fan')
  const first = c.match('m1')
  const log1 = watch<MatchSnapshotFrame>(first)
  await log1.status('live')
  const second = c.match('m2')
  const log2 = watch<MatchSnapshotFrame>(second)
  await log2.status('closed')
  t.match(log2.errors, [{ code: 'too_many_connections', closeCode: 4008, message: 'too_many_connections' }])
  await first.send({ type: 'ping' })
  t.equal(first.status, 'live')
})

t.test('4010: the command that caused it rejects; the room resumes and the commands after it are applied once', async (t) => {
  const { app, wsUrl } = await startApp(t, { rateLimit: { maxPayloadBytes: 300 } })
  const ws = instrumentedWebSocket()
  const room = sdk(t, wsUrl, 'u-org', { WebSocket: ws.WebSocket }).match('m1')
  const log = watch<MatchSnapshotFrame>(room)
  await log.status('live')
  const start = room.send({ type: 'match.start' })
  const huge = room.send({ type: 'match.cancel', reason: 'x'.repeat(400) })
  const after = room.send({ type: 'score.update', scores: { 'u-a': 1 } })
  await start
  await t.rejects(huge, { code: 'payload_too_large', closeCode: 4010, message: 'payload_too_large' })
  await after
  t.same(ws.closes, [4010])
  t.equal(room.status, 'live')
  t.match(await app.matchcast.store.getMatch('m1'), { state: 'live', scores: { 'u-a': 1 }, version: 2 })
})

t.test('1009 (over the transport cap) is handled like 4010', async (t) => {
  const { wsUrl } = await startApp(t, { rateLimit: { maxPayloadBytes: 300 }, transportMaxPayloadBytes: 1024 })
  const ws = instrumentedWebSocket()
  const room = sdk(t, wsUrl, 'u-org', { WebSocket: ws.WebSocket }).match('m1')
  const log = watch<MatchSnapshotFrame>(room)
  await log.status('live')
  const scores = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`participant-${i}`, i]))
  await t.rejects(room.send({ type: 'score.update', scores }), { code: 'payload_too_large', closeCode: 1009 })
  await log.status('live')
  await room.send({ type: 'ping' })
  t.same(ws.closes, [1009])
})

t.test('4009: reconnect after a longer back-off; every command is applied once', async (t) => {
  const { app, wsUrl } = await startApp(t, { rateLimit: { messagesPerSecond: 20, burst: 4 } })
  const ws = instrumentedWebSocket()
  const room = sdk(t, wsUrl, 'u-b', { WebSocket: ws.WebSocket, backoff: { minMs: 5, maxMs: 400 } }).match('m2')
  const log = watch<MatchSnapshotFrame>(room)
  await log.status('live')
  const watcher = client(t, wsUrl, '/ws/matches/m2', as('u-fan'))
  await watcher.next()
  await Promise.all(Array.from({ length: 6 }, (_, i) => room.send({ type: 'result.report', scores: { 'u-b': i } })))
  t.equal(ws.closes[0], 4009)
  t.match(await app.matchcast.store.getMatch('m2'), { version: 6 }, 'six changes')
  await watcher.ping()
  await log.until(() => log.events.length === 6)
  t.same(log.events.map((e) => e.type === 'result_reported' && e.data.scores['u-b']).sort(), [0, 1, 2, 3, 4, 5])
  t.same(log.events.map((e) => e.seq), [1, 2, 3, 4, 5, 6])
})

/** The reactions an advice of the protocol's table allows. */
const FITS: Record<Reconnect, Reaction[]> = {
  no: ['stop'],
  yes: ['resume', 'reject'],
  'after-backoff': ['resume', 'slow-down'],
  'with-new-token': ['new-token'],
  'after-a-connection-closes': ['stop']
}

t.test('every close code of matchcast/protocol gets a reaction its advice allows; a stop reports the code\'s name', async (t) => {
  for (const entry of [...Object.values(CloseCode), AbnormalClosure]) {
    // 1000 is the client's own close: a room the application closed is stopped by close() itself.
    if (entry.code === CloseCode.normal.code) continue
    const [reaction, error] = reactionTo(entry.code)
    t.ok(FITS[entry.reconnect].includes(reaction), `${entry.code} ${entry.name}: ${entry.reconnect} → ${reaction}`)
    if (reaction === 'stop' || reaction === 'new-token') t.equal(error, entry.name, `${entry.code} reports ${entry.name}`)
  }
  t.same(reactionTo(4999), ['resume'], 'a code the protocol does not know resumes')
})
