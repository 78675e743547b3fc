/**
 * Redis dies mid-stream and comes back empty (no persistence): nothing crashes, commands still
 * apply, and every room resyncs, then flows again with contiguous seqs.
 */
import t from 'tap'
import { memoryStore } from '../../../index.js'
import { as, client, startApp, testSeed, until, type Client } from '../../helper.js'
import { startRedis, uniquePrefix } from '../../redis.js'
import { eventsIn, readSeqs, reported, type Frame } from './fixtures.js'

/** The seq of m2 a snapshot states: a match room's `seq`, or a tournament room's `seqs.m2`. */
function m2Seq (frame: Frame): number | undefined {
  if (frame.matchId === 'm2') return frame.seq as number
  return (frame.seqs as Record<string, number> | undefined)?.m2
}

t.test('Redis killed mid-stream: no crash; commands apply; rooms resync when it returns, then flow contiguously', async (t) => {
  const redis = await startRedis(t)
  const keyPrefix = uniquePrefix()
  // Two instances of one deployment share its store as well as Redis.
  const store = memoryStore(testSeed())
  const a = await startApp(t, { redis: redis.url, keyPrefix, store })
  const b = await startApp(t, { redis: redis.url, keyPrefix, store })
  const org = client(t, a.wsUrl, '/ws/matches/m2', as('u-org'))
  const fan = client(t, b.wsUrl, '/ws/matches/m2', as('u-fan'))
  const room = client(t, b.wsUrl, '/ws/tournaments/t1', as('u-fan'))
  const { epoch } = await org.next()
  await fan.next()
  await room.next()
  org.send({ type: 'score.update', id: 1, scores: { 'u-b': 1 } })
  // The ack and the event travel independently: either may come first.
  const sent = [await org.next(), await org.next()]
  t.same(sent.filter((f) => f.type === 'ack'), [{ type: 'ack', id: 1 }])
  t.same(sent.flatMap(eventsIn).map((e) => e.seq), [1])
  t.same(await readSeqs(fan, 1), [1])
  t.same(await readSeqs(room, 1), [1])

  await redis.kill()
  // While Redis is down the command still applies (store) and is acked; its event cannot be sequenced.
  org.send({ type: 'score.update', id: 2, scores: { 'u-b': 2 } })
  t.same(await org.next(), { type: 'ack', id: 2 })
  await a.app.matchcast.events.flush()
  await org.ping()
  await fan.ping()
  t.same(eventsIn(org.unread[0] as Frame ?? {}), [], 'no event was sent')
  // New rooms cannot learn the sequence, but still admit clients from the store's state.
  const late = client(t, a.wsUrl, '/ws/matches/m2', as('u-fan'))
  t.match(await late.next(), { type: 'snapshot', matchId: 'm2', seq: 0, epoch: 'unavailable', match: { scores: { 'u-b': 2 } } })
  // A client resuming cannot be replayed: it gets a snapshot too.
  const resuming = client(t, b.wsUrl, `/ws/matches/m2?lastSeq=1&epoch=${String(epoch)}`, as('u-org2'))
  t.match(await resuming.next(), { type: 'snapshot', matchId: 'm2', seq: 0, epoch: 'unavailable', resync: true })
  const lateRoom = client(t, a.wsUrl, '/ws/tournaments/t1', as('u-fan'))
  t.match(await lateRoom.next(), { type: 'snapshot', tournamentId: 't1', seqs: { m1: 0, m2: 0, m3: 0 } })

  await redis.restart()
  // Every room resyncs to the store's state (which holds the change made while Redis was down).
  // The room's last snapshot of m2 (a tournament room resyncs each of its matches on its own).
  const lastSeen = new Map<Client, Frame>()
  const m2Snapshot = async (c: Client): Promise<Frame> => {
    for (;;) {
      const frame = await c.next<Frame>(5000)
      if (frame.type === 'snapshot' && m2Seq(frame) !== undefined) return frame
    }
  }
  for (const c of [org, fan, late, resuming]) {
    const frame = await m2Snapshot(c)
    t.match(frame, { type: 'snapshot', matchId: 'm2', resync: true, match: { scores: { 'u-b': 2 } } })
    t.not(frame.epoch, epoch, 'a new epoch')
    lastSeen.set(c, frame)
  }
  for (const c of [room, lateRoom]) {
    const frame = await m2Snapshot(c)
    t.match(frame, { type: 'snapshot', tournamentId: 't1', resync: true })
    // The snapshot holds m2 (alone, or with the other matches Redis lost, in any order).
    t.match((frame.matches as Array<{ id: string }>).find((m) => m.id === 'm2'), { scores: { 'u-b': 2 } })
    t.ok(m2Seq(frame)! > 0 || frame.matches !== undefined, 'the real sequence')
    lastSeen.set(c, frame)
  }
  await until(() => a.app.matchcast.redis!.client.status === 'ready', 5000)

  // Recovery: new events flow with contiguous seqs after the last snapshot or event each socket
  // got. (The first command after the outage may itself start the new epoch: its event then
  // arrives inside a resync snapshot instead of as an event.)
  org.send({ type: 'score.update', id: 3, scores: { 'u-b': 3 } })
  org.send({ type: 'score.update', id: 4, scores: { 'u-b': 4 } })
  for (const c of [org, fan, room]) {
    let seq = m2Seq(lastSeen.get(c)!)
    for (;;) {
      const frame = await c.next<Frame>(5000)
      if (frame.type === 'snapshot') {
        if (m2Seq(frame) !== undefined) seq = m2Seq(frame)!
        continue
      }
      const [event] = eventsIn(frame)
      if (event === undefined) continue
      t.equal(event.seq, seq! + 1, `contiguous: ${event.seq} after ${seq}`)
      seq = event.seq
      if ((event.data as { scores: Record<string, number> }).scores['u-b'] === 4) break
    }
    t.same(c.invalid, [])
  }
  b.app.matchcast.events.emit('m2', reported(9))
  await b.app.matchcast.events.flush()
  const next = await a.app.matchcast.events.position('m2')
  t.same(await readSeqs(fan, 1), [next.seq])
})
