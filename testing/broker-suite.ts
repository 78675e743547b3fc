/**
 * The Broker contract (plugins/broadcast/broker.ts), run against every backend. A broker under
 * test delivers a publish's events to this node's subscribers before `publish` resolves; what
 * other nodes see is tested with the distributed backends themselves.
 */
import type { TestLike } from './test-like.js'
import type { Broker } from '../plugins/broadcast/broker.js'
import type { MatchEvent, PendingEvent } from '../schemas/messages.js'

export interface BrokerSetup {
  historySize: number
  historyTtlMs: number
  /** The broker's clock (history age); a real one when absent. */
  now?: () => number
}

/** Builds a broker for one test, closed at its teardown. */
export type BrokerFactory = (t: TestLike, setup: BrokerSetup) => Promise<Broker>

const defaults: BrokerSetup = { historySize: 100, historyTtlMs: 60_000 }

export function score (n: number): PendingEvent {
  return { type: 'score_updated', data: { scores: { 'u-a': n } } }
}

const seqs = (events: MatchEvent[]) => events.map((e) => e.seq)

export function brokerSuite (t: TestLike, factory: BrokerFactory): void {
  t.test('publish: contiguous seqs from 1, across calls; events carry match, ts and data', async (t) => {
    const broker = await factory(t, defaults)
    const first = await broker.publish('m1', [score(1), score(2)])
    t.same(seqs(first), [1, 2])
    t.match(first[0], { type: 'score_updated', matchId: 'm1', seq: 1, data: { scores: { 'u-a': 1 } } })
    t.ok(Number.isFinite(Date.parse(first[0]!.ts)), 'ts is an ISO timestamp')
    t.same(seqs(await broker.publish('m1', [score(3)])), [3])
    t.same(seqs(await broker.publish('m1', Array.from({ length: 50 }, (_, i) => score(i)))), Array.from({ length: 50 }, (_, i) => 4 + i))
    t.same(seqs(await broker.publish('m2', [score(1)])), [1], 'each match has its own sequence')
  })

  t.test('subscribe: one array per publish, in seq order; handlers independent; unsubscribe is idempotent', async (t) => {
    const broker = await factory(t, defaults)
    const a: number[][] = []
    const b: number[][] = []
    const other: number[][] = []
    const stopA = broker.subscribe('m1', (events) => a.push(seqs(events)))
    const handler = (events: MatchEvent[]) => b.push(seqs(events))
    const stopB = broker.subscribe('m1', handler)
    const stopB2 = broker.subscribe('m1', handler)
    const stopOther = broker.subscribe('m2', (events) => other.push(seqs(events)))
    await broker.publish('m1', [score(1), score(2)])
    await broker.publish('m1', [score(3)])
    t.same(a, [[1, 2], [3]])
    t.same(b, [[1, 2], [1, 2], [3], [3]], 'the same function subscribed twice is two subscriptions')
    t.same(other, [], 'another match sees nothing')
    stopA()
    stopA()
    stopB2()
    await broker.publish('m1', [score(4)])
    t.same(a, [[1, 2], [3]], 'nothing after unsubscribe')
    t.same(b, [[1, 2], [1, 2], [3], [3], [4]])
    stopB()
    stopOther()
    await broker.publish('m1', [score(5)])
    t.same(b.length, 5)
  })

  t.test('position: seq 0 and a stable epoch before any event; the last seq after', async (t) => {
    const broker = await factory(t, defaults)
    const before = await broker.position('m1')
    t.equal(before.seq, 0)
    t.type(before.epoch, 'string')
    await broker.publish('m1', [score(1), score(2)])
    t.same(await broker.position('m1'), { seq: 2, epoch: before.epoch })
    t.same(await broker.position('m1'), { seq: 2, epoch: before.epoch }, 'reading does not move it')
  })

  t.test('since: the events after N; [] at the head; undefined past the head or for another epoch', async (t) => {
    const broker = await factory(t, defaults)
    await broker.publish('m1', [score(1), score(2)])
    await broker.publish('m1', [score(3)])
    const { epoch } = await broker.position('m1')
    t.same(seqs((await broker.since('m1', 0, epoch))!), [1, 2, 3])
    t.same((await broker.since('m1', 1, epoch))!.map((e) => [e.seq, e.data]), [[2, { scores: { 'u-a': 2 } }], [3, { scores: { 'u-a': 3 } }]])
    t.same(await broker.since('m1', 3, epoch), [])
    t.equal(await broker.since('m1', 4, epoch), undefined, 'past the head')
    t.equal(await broker.since('m1', 1, 'another-epoch'), undefined, 'another epoch')
  })

  t.test('since: undefined once history no longer holds every event after N (size)', async (t) => {
    const broker = await factory(t, { ...defaults, historySize: 3 })
    await broker.publish('m1', [score(1), score(2), score(3), score(4), score(5)])
    const { epoch } = await broker.position('m1')
    t.same(seqs((await broker.since('m1', 2, epoch))!), [3, 4, 5], 'the last 3 are held')
    t.equal(await broker.since('m1', 1, epoch), undefined, 'event 2 was trimmed')
  })

  t.test('since: undefined once the events after N are older than the history age', async (t) => {
    let clock = Date.parse('2030-01-01T00:00:00.000Z')
    const broker = await factory(t, { ...defaults, historyTtlMs: 1000, now: () => clock })
    await broker.publish('m1', [score(1)])
    clock += 600
    await broker.publish('m1', [score(2)])
    const { epoch } = await broker.position('m1')
    clock += 600
    t.same(seqs((await broker.since('m1', 1, epoch))!), [2], 'event 2 is 600 ms old')
    t.equal(await broker.since('m1', 0, epoch), undefined, 'event 1 is 1200 ms old')
  })

  t.test('since: a history of size 0 replays nothing but the head', async (t) => {
    const broker = await factory(t, { ...defaults, historySize: 0 })
    await broker.publish('m1', [score(1)])
    const { epoch } = await broker.position('m1')
    t.equal(await broker.since('m1', 0, epoch), undefined)
    t.same(await broker.since('m1', 1, epoch), [])
  })

  t.test('relay: sequences outbox events and records the version; publish leaves the version alone', async (t) => {
    const broker = await factory(t, defaults)
    const got: number[][] = []
    broker.subscribe('m1', (events) => got.push(seqs(events)))
    await broker.publish('m1', [score(0)])
    t.notOk('version' in await broker.position('m1'), 'no version before the first relay')
    const relayed = await broker.relay('m1', { events: [score(1), score(2)], versions: [4, 5], base: 3, last: 5 })
    t.match(relayed, { status: 'published', version: 5 })
    t.same(relayed.status === 'published' && seqs(relayed.events), [2, 3])
    t.match(await broker.position('m1'), { seq: 3, version: 5 })
    await broker.publish('m1', [score(9)])
    t.match(await broker.position('m1'), { seq: 4, version: 5 }, 'a host event gets a seq but no version')
    t.same(got, [[1], [2, 3], [4]])
  })

  t.test('relay is idempotent by version: what the stream reflects never gets a second seq', async (t) => {
    const broker = await factory(t, defaults)
    const got: number[][] = []
    broker.subscribe('m1', (events) => got.push(seqs(events)))
    await broker.relay('m1', { events: [score(1), score(2)], versions: [1, 2], base: 0, last: 2 })
    t.same(await broker.relay('m1', { events: [score(1), score(2)], versions: [1, 2], base: 0, last: 2 }), { status: 'published', events: [], version: 2 }, 'the same batch again')
    const overlap = await broker.relay('m1', { events: [score(2), score(3)], versions: [2, 3], base: 1, last: 3 })
    t.same(overlap.status === 'published' && overlap.events.map((e) => [e.seq, e.data]), [[3, { scores: { 'u-a': 3 } }]], 'only the new version')
    const mixed = await broker.relay('m1', { events: [score(3), score(7)], versions: [3, undefined], base: 2, last: 3 })
    t.same(mixed.status === 'published' && seqs(mixed.events), [4], 'an event from outside the outbox always gets a seq')
    t.same(got, [[1, 2], [3], [4]])
    t.match(await broker.position('m1'), { seq: 4, version: 3 })
  })

  t.test('relay: a batch ahead of the stream is a gap and changes nothing; coalesced versions count', async (t) => {
    const broker = await factory(t, defaults)
    await broker.relay('m1', { events: [score(1)], versions: [1], base: 0, last: 1 })
    t.same(await broker.relay('m1', { events: [score(3)], versions: [3], base: 2, last: 3 }), { status: 'gap', version: 1 })
    t.match(await broker.position('m1'), { seq: 1, version: 1 }, 'nothing sequenced')
    // Version 2 was coalesced into 3 (latest wins): the batch accounts for both.
    const coalesced = await broker.relay('m1', { events: [score(3)], versions: [3], base: 1, last: 3 })
    t.match(coalesced, { status: 'published', version: 3 })
    t.match(await broker.position('m1'), { seq: 2, version: 3 })
    t.match(await broker.relay('m2', { events: [score(1)], versions: [8], base: 7, last: 8 }), { status: 'published', version: 8 }, 'a stream without a version takes any base')
    t.match(await broker.relay('m3', { events: [], versions: [], base: 5, last: 5 }), { status: 'published', events: [], version: 5 }, 'an empty batch only sets the version')
    t.same(await broker.position('m3'), { seq: 0, epoch: (await broker.position('m3')).epoch, version: 5 })
  })

  t.test('relay with rotateFrom: a new epoch while the version is still the one given; every subscriber resyncs', async (t) => {
    const broker = await factory(t, defaults)
    const got: number[][] = []
    let resyncs = 0
    broker.subscribe('m1', (events) => got.push(seqs(events)), () => resyncs++)
    await broker.relay('m1', { events: [score(1)], versions: [1], base: 0, last: 1 })
    const before = await broker.position('m1')
    t.same(await broker.relay('m1', { events: [], versions: [], base: 0, last: 4, rotateFrom: 0 }), { status: 'moved', version: 1 }, 'the version moved on')
    t.same(await broker.relay('m1', { events: [], versions: [], base: 0, last: 4, rotateFrom: null }), { status: 'moved', version: 1 })
    t.equal(resyncs, 0)
    const rotated = await broker.relay('m1', { events: [score(4)], versions: [4], base: 1, last: 4, rotateFrom: 1 })
    t.match(rotated, { status: 'published', version: 4 })
    t.equal(resyncs, 1, 'subscribers resync')
    const after = await broker.position('m1')
    t.not(after.epoch, before.epoch, 'a new epoch')
    t.match(after, { seq: 2, version: 4 }, 'the counter goes on')
    t.equal(await broker.since('m1', 1, before.epoch), undefined, 'the old epoch cannot be resumed')
    t.same(got, [[1]], 'the rotated batch is not delivered as events: the snapshot holds it')
    await broker.relay('m1', { events: [score(5)], versions: [5], base: 4, last: 5 })
    t.same(seqs((await broker.since('m1', 2, after.epoch))!), [3], 'the new epoch goes on from its head')
    t.match(await broker.relay('m2', { events: [], versions: [], base: 0, last: 2, rotateFrom: null }), { status: 'published', version: 2 }, 'from no version at all')
    const unversioned = await broker.relay('m3', { events: [], versions: [], base: 0, last: 2, rotateFrom: 1 })
    t.equal(unversioned.status, 'moved', 'a stream without a version has not reached the version given')
    t.equal(unversioned.version, undefined, 'and says it has none')
    t.same(await broker.relay('m2', { events: [], versions: [], base: 0, last: 3, rotateFrom: null }), { status: 'moved', version: 2 })
  })

  t.test('close: idempotent; nothing is delivered after it; publish and relay then reject', async (t) => {
    const broker = await factory(t, defaults)
    const got: number[][] = []
    broker.subscribe('m1', (events) => got.push(seqs(events)))
    await broker.publish('m1', [score(1)])
    await broker.close()
    await broker.close()
    await t.rejects(broker.publish('m1', [score(2)]), /closed/)
    await t.rejects(broker.relay('m1', { events: [score(2)], versions: [1], base: 0, last: 1 }), /closed/)
    t.same(got, [[1]])
  })
}
