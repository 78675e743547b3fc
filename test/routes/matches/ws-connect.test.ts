import t from 'tap'
import { SUBPROTOCOL } from '../../../index.js'
import { as, client, startApp, token } from '../../helper.js'

t.test('a member connecting to a match room gets a snapshot first', async (t) => {
  const { wsUrl } = await startApp(t)
  const c = client(t, wsUrl, '/ws/matches/m1', as('u-fan'))
  const snapshot = await c.next()
  t.match(snapshot, { type: 'snapshot', matchId: 'm1', seq: 0, role: 'spectator', match: { id: 'm1', state: 'scheduled', version: 0, winnerId: null } })
  t.type(snapshot.epoch, 'string')
  t.same(c.invalid, [])
})

t.test('the subprotocol transport is answered with matchcast.v1, never the token', async (t) => {
  const { wsUrl } = await startApp(t)
  const c = client(t, wsUrl, '/ws/matches/m1', { protocols: [SUBPROTOCOL, `bearer.${token('u-a')}`] })
  await c.opened
  t.equal(c.ws.protocol, SUBPROTOCOL)
  t.match(await c.next(), { type: 'snapshot', role: 'participant' })
})
