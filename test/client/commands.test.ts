/** Pending commands: unique ids, resend order, expiry of old ones, settling by reply. */
import t from 'tap'
import { PendingCommands } from '../../client/commands.js'
import { MatchcastError } from '../../client/errors.js'

t.test('ids are unique per client and across clients; frames carry them', async (t) => {
  const a = new PendingCommands(1000)
  const b = new PendingCommands(1000)
  const ids = [a.add({ type: 'ping' }), a.add({ type: 'match.start' }), b.add({ type: 'ping' })].map((c) => c.id)
  t.equal(new Set(ids).size, 3)
  t.match(ids[0], /^[0-9a-f]{16}\.1$/)
  t.same(JSON.parse(a.add({ type: 'match.cancel', reason: 'rain' }).frame), { type: 'match.cancel', reason: 'rain', id: ids[0]!.replace(/1$/, '3') })
})

t.test('resend: every unanswered command in order; one first sent more than ttl ago rejects expired', async (t) => {
  const pending = new PendingCommands(1000)
  const old = pending.add({ type: 'match.start' })
  const young = pending.add({ type: 'ping' })
  const unsent = pending.add({ type: 'score.update', scores: { 'u-a': 1 } })
  pending.sent(old.id, 1, 0)
  pending.sent(young.id, 1, 500)
  const frames = pending.resend(2, 1001)
  t.same(frames, [young.frame, unsent.frame])
  await t.rejects(old.reply, { code: 'expired', message: /may or may not have been applied/ })
  t.same(pending.resend(3, 1400), [young.frame, unsent.frame], 'the first send counts, not the last')
  pending.reply({ type: 'pong', id: young.id })
  pending.reply({ type: 'error', id: unsent.id, code: 'invalid_state', message: 'not live' })
  pending.reply({ type: 'ack', id: 42 })
  pending.reply({ type: 'ack', id: 'not-a-pending-id' })
  pending.reply({ type: 'ack' })
  await young.reply
  await t.rejects(unsent.reply, { code: 'invalid_state', message: 'not live', details: undefined })
  t.equal(pending.size, 0)
})

t.test('rejectFirstUnanswered: the first command written to that socket, none if there is none', async (t) => {
  const pending = new PendingCommands(1000)
  const a = pending.add({ type: 'ping' })
  const b = pending.add({ type: 'ping' })
  pending.sent(a.id, 1, 0)
  pending.sent(b.id, 2, 0)
  pending.rejectFirstUnanswered(3, new MatchcastError('payload_too_large', 'too large'))
  t.equal(pending.size, 2)
  pending.rejectFirstUnanswered(2, new MatchcastError('payload_too_large', 'too large'))
  await t.rejects(b.reply, { code: 'payload_too_large' })
  t.equal(pending.size, 1)
})
