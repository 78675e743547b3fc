/**
 * Property: whatever a client sends — arbitrary bytes, arbitrary JSON, commands shaped like the
 * schemas with fields mutated, odd ids — the server never crashes, every frame it sends validates
 * against the server-frame schema, every frame sent gets one reply (ack, pong or error, each valid
 * against its own schema) that echoes the frame's `id` exactly when it is a valid `CommandId`, and
 * the connection is either still open (ping → pong) or closed with a code from the close-code table.
 */
import fc from 'fast-check'
import t from 'tap'
import { Compile } from 'typebox/compile'
import { AckFrame, CloseCode, CommandId, ErrorFrame, PongFrame } from '../../../index.js'
import { Client, as, startApp } from '../../helper.js'

const CODES = new Set<number>(Object.values(CloseCode).map((c) => c.code))
const USERS = ['u-org', 'u-org2', 'u-a', 'u-b', 'u-c', 'u-fan']
const MATCHES = ['m1', 'm2', 'm3']
const REPLIES = { ack: Compile(AckFrame), pong: Compile(PongFrame), error: Compile(ErrorFrame) }
const validId = Compile(CommandId)

const scores = fc.dictionary(fc.constantFrom('u-a', 'u-b', 'u-c', 'u-z'), fc.integer({ min: -2, max: 5 }), { maxKeys: 3 })
const validCommand = fc.oneof(
  fc.constant({ type: 'ping' }),
  fc.constant({ type: 'match.start' }),
  fc.record({ type: fc.constant('score.update'), scores }),
  fc.record({ type: fc.constant('result.report'), scores }),
  fc.record({ type: fc.constant('match.dispute'), reason: fc.string({ maxLength: 20 }) }),
  fc.record({ type: fc.constant('match.finalize'), scores, winnerId: fc.option(fc.constantFrom('u-a', 'u-b', 'u-c', 'u-z'), { nil: undefined }) }),
  fc.record({ type: fc.constant('match.cancel'), reason: fc.string({ maxLength: 20 }) })
).map((c) => JSON.parse(JSON.stringify(c)) as Record<string, unknown>)

/** An `id` as JSON text: valid ids, and the odd ones (over-long, NUL or lone surrogates, floats, huge integers, objects). */
const idText = fc.oneof(
  fc.oneof(fc.string({ maxLength: 64 }), fc.integer()).map((id) => JSON.stringify(id)),
  fc.string({ minLength: 65, maxLength: 9000 }).map((id) => JSON.stringify(id)),
  fc.string({ unit: 'binary', maxLength: 64 }).map((id) => JSON.stringify(id)),
  fc.tuple(fc.string({ maxLength: 20 }), fc.constantFrom('\u0000', '\ud800', '\udfff')).map(([id, odd]) => `"${JSON.stringify(id).slice(1, -1)}${odd}"`),
  fc.double().map((id) => (Number.isFinite(id) ? String(id) : '1e400')),
  fc.bigInt({ min: -(2n ** 200n), max: 2n ** 200n }).map(String),
  fc.constantFrom('1.0', '-0', '1e2', '1e400', '0.5', 'null', 'true'),
  fc.oneof(fc.object({ maxDepth: 1 }), fc.array(fc.jsonValue({ maxDepth: 1 }), { maxLength: 3 })).map((id) => JSON.stringify(id))
)

/** A command with `id` set to raw JSON text (so huge integers and exponents reach the server as written). */
const withId = fc.tuple(validCommand, idText).map(([command, id]) => `{"id":${id},${JSON.stringify(command).slice(1)}`)

const mutated = fc.tuple(validCommand, fc.nat(), fc.jsonValue({ maxDepth: 2 }), fc.constantFrom('drop', 'replace', 'add', 'id')).map(([command, pick, value, how]) => {
  const keys = Object.keys(command)
  const key = keys[pick % keys.length]!
  const copy: Record<string, unknown> = { ...command }
  if (how === 'drop') delete copy[key]
  else if (how === 'replace') copy[key] = value
  else if (how === 'add') copy[`x${pick % 3}`] = value
  else copy.id = value
  return JSON.stringify(copy)
})

/** The id a reply to `frame` must echo: the frame's own `id` when it is a valid `CommandId`, else none. */
function expectedId (frame: string | Buffer): unknown {
  try {
    // What the server reads: the frame's bytes as UTF-8 (a lone surrogate in a text frame is sent as U+FFFD).
    const value: unknown = JSON.parse(Buffer.from(frame).toString())
    if (typeof value !== 'object' || value === null || !Object.hasOwn(value, 'id')) return undefined
    const id = (value as { id: unknown }).id
    return validId.Check(id) ? id : undefined
  } catch {
    return undefined
  }
}

/** Whether `reply` is a valid reply frame to `frame`, echoing exactly the id it should. */
function answers (reply: Record<string, unknown>, frame: string | Buffer): boolean {
  const schema = REPLIES[reply.type as keyof typeof REPLIES]
  const id = expectedId(frame)
  return schema.Check(reply) && (id === undefined ? !('id' in reply) : JSON.stringify(reply.id) === JSON.stringify(id))
}

const frame = fc.oneof(
  fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b)),
  fc.string({ maxLength: 64 }),
  fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
  validCommand.map((c) => JSON.stringify(c)),
  mutated,
  withId
)

/** The id of the closing round trip: 64 characters, the longest valid id, that no generator realistically produces. */
const ROUND_TRIP = 'round-trip:' + '~'.repeat(53)

/** Sends a `ping` and reads frames until its `pong`: proves the connection is open and every earlier frame was answered. */
async function roundTrip (c: Client): Promise<void> {
  c.send({ type: 'ping', id: ROUND_TRIP })
  for (;;) {
    const frame = await c.next()
    if (frame.type === 'pong' && frame.id === ROUND_TRIP) return
  }
}

t.test('no input crashes the server, breaks the frame schema or leaves an undefined state', async (t) => {
  const { app, wsUrl } = await startApp(t, {
    batching: { windowMs: 0 },
    rateLimit: { maxConnectionsPerUser: 1000, messagesPerSecond: 1_000_000, burst: 1_000_000 }
  })
  let runs = 0
  await fc.assert(fc.asyncProperty(
    fc.constantFrom(...USERS), fc.constantFrom(...MATCHES), fc.array(frame, { minLength: 1, maxLength: 6 }),
    async (user, match, frames) => {
      runs++
      const c = new Client(`${wsUrl}/ws/matches/${match}`, as(user))
      try {
        const first = await c.next()
        if (first.type !== 'snapshot') return false
        for (const f of frames) c.ws.send(f)
        const pinged = await roundTrip(c).then(() => true, () => false)
        if (!pinged) {
          const { code } = await c.closeInfo()
          if (!CODES.has(code)) return false
        }
        // One reply per frame, in order, until the connection closed (then the round-trip pong last).
        const replies = c.frames.slice(1).filter((f): f is Record<string, unknown> =>
          typeof f === 'object' && f !== null && Object.hasOwn(REPLIES, (f as { type: string }).type))
        if (pinged) replies.pop()
        if (replies.length > frames.length || (pinged && replies.length !== frames.length)) return false
        return c.invalid.length === 0 && replies.every((reply, i) => answers(reply, frames[i]!))
      } finally {
        await c.close()
      }
    }
  ), { numRuns: 150 })
  t.equal(runs, 150)
  // The server is still healthy after everything it was sent.
  const c = new Client(`${wsUrl}/ws/matches/m1`, as('u-fan'))
  t.teardown(() => c.close())
  t.equal((await c.next()).type, 'snapshot')
  await c.ping()
  t.equal(app.matchcast.connections.size, 1)
})
