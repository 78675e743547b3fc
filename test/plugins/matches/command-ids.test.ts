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

t.test('expired replies are swept at most once per min(ttlMs, 1 s), and never replayed', async (t) => {
  let clock = 0
  const ids = new CommandIds({ ttlMs: 50, now: () => clock })
  let runs = 0
  const work = async () => { runs++ }
  const send = (id: string) => ids.run('m1', 'u-org', { type: 'match.start', id }, work)
  await send('a')
  clock = 30
  await send('b')
  await send('a')
  t.equal(runs, 2, 'a is replayed within its lifetime')
  clock = 60
  await send('a')
  t.equal(runs, 3, 'a expired: it runs again')
  t.equal(ids.size, 2, 'the sweep forgot the old a and stopped at b, still alive')
  clock = 70
  await send('b')
  t.equal(runs, 3, 'b is replayed')
  clock = 81
  await send('c')
  t.equal(ids.size, 3, 'b expired at 80, but the next sweep is not due before 110')
  await send('b')
  t.equal(runs, 5, 'an expired reply is not replayed, swept or not')
  clock = 200
  await send('d')
  t.equal(ids.size, 1, 'every expired reply swept')
})
