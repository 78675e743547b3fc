import t from 'tap'
import { LocalSubscribers } from '../../../plugins/broadcast/broker.js'
import type { MatchEvent } from '../../../schemas/messages.js'

const ev = (matchId: string, seq: number): MatchEvent =>
  ({ type: 'score_updated', matchId, seq, ts: '2030-01-01T00:00:00.000Z', data: { scores: { 'u-a': seq } } })

function watch (local: LocalSubscribers, matchId: string) {
  const seen: Array<number | 'resync'> = []
  local.add(matchId, (events) => seen.push(...events.map((e) => e.seq)), () => seen.push('resync'))
  return seen
}

t.test('held resync notices are given together on release, once per match; a noticed match gets no events meanwhile', async (t) => {
  const local = new LocalSubscribers()
  const m1 = watch(local, 'm1')
  const m2 = watch(local, 'm2')
  local.hold('all')
  local.hold('all')
  local.resync('m1')
  local.resync('m1')
  local.deliver('m1', [ev('m1', 1)])
  local.deliver('m2', [ev('m2', 1)])
  t.same(m1, [], 'nothing for m1 until the release: the snapshot its notice asks for reflects seq 1')
  t.same(m2, [1], 'a match without a notice keeps flowing')
  local.release('all')
  t.same(m1, ['resync'])
  local.deliver('m1', [ev('m1', 2)])
  local.resync('m2')
  t.same(m1, ['resync', 2])
  t.same(m2, [1, 'resync'], 'not held any more')
  local.release('all')
  t.same(m2, [1, 'resync'], 'a release without a hold gives nothing')
})

t.test('clear drops held notices', async (t) => {
  const local = new LocalSubscribers()
  local.hold('all')
  local.resync('m1')
  local.clear()
  const m1 = watch(local, 'm1')
  local.release('all')
  local.deliver('m1', [ev('m1', 1)])
  t.same(m1, [1])
})

t.test('holds by reason overlap: a notice is given once no hold covers its match; a hold widens', async (t) => {
  const local = new LocalSubscribers()
  const m1 = watch(local, 'm1')
  const m2 = watch(local, 'm2')
  const m3 = watch(local, 'm3')
  local.hold('shard-a', ['m1'])
  local.hold('shard-a', ['m2'])
  local.hold('client')
  local.resync('m1')
  local.resync('m2')
  local.resync('m3')
  local.release('shard-a')
  t.same([m1, m2, m3], [[], [], []], 'the whole-client hold still covers every match')
  local.hold('shard-b', ['m2'])
  local.release('client')
  t.same([m1, m2, m3], [['resync'], [], ['resync']], 'm2 waits for shard-b')
  local.deliver('m2', [ev('m2', 1)])
  local.release('shard-b')
  t.same(m2, ['resync'], 'no event while its notice was held')
  local.hold('client')
  local.hold('client', ['m1'])
  local.resync('m2')
  t.same(m2, ['resync'], 'a whole hold stays whole when a narrower one is added under its reason')
  local.release('client')
  t.same(m2, ['resync', 'resync'])
})
