/**
 * An error reply echoes the command's `id` only when that id is a valid `CommandId` (a string of at
 * most 64 characters of text, or an integer): an over-long or odd id is left out, so every reply
 * fits the `ErrorFrame` schema.
 */
import t from 'tap'
import { as, client, startApp } from '../helper.js'

t.test('error replies leave out ids that are not valid command ids', async (t) => {
  const { wsUrl } = await startApp(t)
  const c = client(t, wsUrl, '/ws/matches/m1', as('u-a'))
  t.match(await c.next(), { type: 'snapshot' })
  const odd = [
    JSON.stringify('x'.repeat(65)),
    JSON.stringify('x'.repeat(9000)),
    '1.5',
    '1e400',
    '{"a":1}',
    '[1]',
    'true',
    JSON.stringify('nul\u0000'),
    JSON.stringify('\uD800')
  ]
  for (const id of odd) {
    for (const frame of [`{"type":"nope","id":${id}}`, `{"type":"match.dispute","id":${id}}`]) {
      c.send(frame)
      const reply = await c.next()
      t.match(reply, { type: 'error', code: /^(unknown_type|invalid_message)$/ }, frame.slice(0, 80))
      t.notOk('id' in reply, `no id echoed for ${id.slice(0, 20)}`)
    }
  }
  t.same(c.invalid, [], 'every reply fits the frame schemas')
})

t.test('valid ids are still echoed, at the boundaries', async (t) => {
  const { wsUrl } = await startApp(t)
  const c = client(t, wsUrl, '/ws/matches/m1', as('u-a'))
  t.match(await c.next(), { type: 'snapshot' })
  const longest = 'x'.repeat(64)
  c.send({ type: 'nope', id: longest })
  t.match(await c.next(), { type: 'error', id: longest, code: 'unknown_type' })
  c.send(`{"type":"nope","id":${Number.MAX_SAFE_INTEGER * 1024}}`)
  t.match(await c.next(), { type: 'error', id: Number.MAX_SAFE_INTEGER * 1024, code: 'unknown_type' })
  c.send({ type: 'match.dispute', id: -3 })
  t.match(await c.next(), { type: 'error', id: -3, code: 'invalid_message' })
  c.send({ type: 'ping', id: 'Łódź 🏆' })
  t.same(await c.next(), { type: 'pong', id: 'Łódź 🏆' })
  t.same(c.invalid, [])
})
