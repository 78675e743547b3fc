/**
 * Redis comes back after an outage: a tournament room gets one resync snapshot holding every match
 * that needs it, not one snapshot per match, and then contiguous events of each match.
 */
import t from 'tap'
import type { Seed } from '../../index.js'
import { as, client, startApp, until } from '../helper.js'
import { startRedis, uniquePrefix } from '../redis.js'
import { eventsIn, score, type Frame } from '../plugins/broadcast/fixtures.js'

const MATCHES = 30

function bigTournament (): Seed {
  return {
    tournaments: [{ id: 't1', name: 'Thirty' }],
    members: [
      { tournamentId: 't1', userId: 'u-org', role: 'organizer' },
      { tournamentId: 't1', userId: 'u-a', role: 'participant' },
      { tournamentId: 't1', userId: 'u-b', role: 'participant' },
      { tournamentId: 't1', userId: 'u-fan', role: 'spectator' }
    ],
    matches: Array.from({ length: MATCHES }, (_, i) => ({ id: `m${i}`, tournamentId: 't1', participants: ['u-a', 'u-b'], state: 'live' as const }))
  }
}

t.test('a tournament room gets one resync snapshot when Redis returns, then contiguous events', async (t) => {
  const redis = await startRedis(t)
  const { app, wsUrl } = await startApp(t, { redis: redis.url, keyPrefix: uniquePrefix(), batching: { windowMs: 0 } }, bigTournament())
  const room = client(t, wsUrl, '/ws/tournaments/t1', as('u-fan'))
  const org = client(t, wsUrl, '/ws/matches/m0', as('u-org'))
  t.match(await room.next(), { type: 'snapshot', tournamentId: 't1' })
  await org.next()
  for (let i = 0; i < MATCHES; i++) app.matchcast.events.emit(`m${i}`, score(1))
  await app.matchcast.events.flush()
  let received = 0
  while (received < MATCHES) received += eventsIn(await room.next()).length

  await redis.kill()
  // A change made while Redis is down: applied and acked, its event lost.
  org.send({ type: 'score.update', id: 1, scores: { 'u-a': 7 } })
  let reply = await org.next()
  while (reply.type !== 'ack') reply = await org.next()
  t.same(reply, { type: 'ack', id: 1 })
  await redis.restart()

  const resync = await room.next<Frame>(10_000)
  t.match(resync, { type: 'snapshot', tournamentId: 't1', role: 'spectator', resync: true })
  const matches = resync.matches as Array<{ id: string, scores: Record<string, number> }>
  const seqs = resync.seqs as Record<string, number>
  // Redis restarted empty, so every match started a new sequence: all of them are in it.
  t.equal(matches.length, MATCHES, 'one snapshot holds every match that needed a resync')
  t.same(Object.keys(seqs).sort(), matches.map((m) => m.id).sort(), 'each with its seq')
  t.match(matches.find((m) => m.id === 'm0'), { scores: { 'u-a': 7 } }, 'reflecting the change made while Redis was down')

  await until(() => app.matchcast.redis!.client.status === 'ready', 5000)
  for (let i = 0; i < MATCHES; i++) app.matchcast.events.emit(`m${i}`, score(2))
  await app.matchcast.events.flush()
  const next: Record<string, number> = {}
  const snapshots: Frame[] = []
  while (Object.keys(next).length < MATCHES) {
    const frame = await room.next<Frame>()
    if (frame.type === 'snapshot') snapshots.push(frame)
    for (const event of eventsIn(frame)) next[frame.matchId as string] = event.seq
  }
  t.same(snapshots, [], 'no second resync snapshot')
  t.same(next, Object.fromEntries(Object.entries(seqs).map(([id, seq]) => [id, seq + 1])), 'each match continues right after its seq in the snapshot')
  await room.ping()
  t.same(room.unread, [], 'nothing else was sent')
  t.same(room.invalid, [])
})
