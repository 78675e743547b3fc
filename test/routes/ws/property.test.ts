/**
 * Property: whatever a client sends — arbitrary bytes, arbitrary JSON, commands shaped like the
 * schemas with fields mutated — the server never crashes, every frame it sends validates against
 * the server-frame schema, and the connection is either still open (ping → pong) or closed with
 * a code from the close-code table.
 */
import fc from 'fast-check'
import t from 'tap'
import { CloseCode } from '../../../index.js'
import { Client, as, startApp } from '../../helper.js'

const CODES = new Set<number>(Object.values(CloseCode).map((c) => c.code))
const USERS = ['u-org', 'u-org2', 'u-a', 'u-b', 'u-c', 'u-fan']
const MATCHES = ['m1', 'm2', 'm3']

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

const frame = fc.oneof(
  fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b)),
  fc.string({ maxLength: 64 }),
  fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
  validCommand.map((c) => JSON.stringify(c)),
  mutated
)

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
        const pinged = await c.ping().then(() => true, () => false)
        if (!pinged) {
          const { code } = await c.closeInfo()
          if (!CODES.has(code)) return false
        }
        return c.invalid.length === 0
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
