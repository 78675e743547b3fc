/** CommandIds without Fastify: what a replayed error reply carries. */
import t from 'tap'
import { CommandError } from '../../../lib/errors.js'
import { CommandIds } from '../../../plugins/matches/command-ids.js'

t.test('a remembered error reply keeps its details', async (t) => {
  const ids = new CommandIds({ ttlMs: 60_000 })
  let runs = 0
  const work = async () => {
    runs++
    throw new CommandError('invalid_message', 'scores: u-z is not a participant', [{ path: '/scores/u-z', message: 'not a participant' }])
  }
  const command = { type: 'score.update', id: 'x', scores: { 'u-z': 1 } } as const
  const first = await ids.run('m1', 'u-org', command, work).catch((err: unknown) => err)
  const again = await ids.run('m1', 'u-org', command, work).catch((err: unknown) => err)
  t.equal(runs, 1)
  t.match(again, { code: 'invalid_message', message: 'scores: u-z is not a participant', details: [{ path: '/scores/u-z', message: 'not a participant' }] })
  t.same({ ...(again as CommandError) }, { ...(first as CommandError) })
})
