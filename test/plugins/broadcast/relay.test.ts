/**
 * The outbox relay on its own, over the memory broker and the memory store: two relays over one
 * store and one broker are two instances of one deployment.
 */
import t from 'tap'
import { BrokerUnavailableError } from '../../../lib/errors.js'
import { MemoryBroker } from '../../../plugins/broadcast/memory-broker.js'
import { OutboxRelay, type RelayOptions } from '../../../plugins/broadcast/relay.js'
import { MemoryStore } from '../../../plugins/store/memory-store.js'
import type { MatchEvent, PendingEvent } from '../../../schemas/messages.js'
import { testSeed, until } from '../../helper.js'
import { reported, score } from './fixtures.js'

function deployment (options: Partial<RelayOptions> = {}) {
  const store = new MemoryStore(testSeed())
  const broker = new MemoryBroker({ historySize: 100, historyTtlMs: 60_000 })
  const delivered: MatchEvent[] = []
  let resyncs = 0
  broker.subscribe('m2', (events) => delivered.push(...events), () => resyncs++)
  const logs: Array<[string, string]> = []
  const log = { debug: (_o: object, msg: string) => logs.push(['debug', msg]), error: (_o: object, msg: string) => logs.push(['error', msg]) }
  const relay = (opts: Partial<RelayOptions> = {}) => new OutboxRelay(broker, store, { leaseMs: 60_000, sweepIntervalMs: 60_000, ...options, ...opts }, log)
  /** Commits a change of m2 with `event`, as the match service does; resolves with its version. */
  const commit = async (event?: PendingEvent): Promise<number> => {
    const { version } = (await store.getMatch('m2'))!
    return (await store.updateMatch('m2', version, {}, event))!.version
  }
  return { store, broker, delivered, relay, commit, logs, resyncs: () => resyncs }
}

const window = (pairs: Array<[PendingEvent, number | undefined]>) => ({
  events: pairs.map(([e]) => e),
  versions: { each: pairs.map(([, v]) => v), all: pairs.flatMap(([, v]) => v === undefined ? [] : [v]).sort((a, b) => a - b) }
})
const scoresOf = (events: MatchEvent[]) => events.map((e) => [e.seq, (e.data as { scores: Record<string, number> }).scores['u-a']])

t.test('a window is sequenced by version and leaves the outbox once sequenced', async (t) => {
  const d = deployment()
  const relay = d.relay()
  const v1 = await d.commit(reported(1))
  const v2 = await d.commit(reported(2))
  const { events, versions } = window([[reported(1), v1], [reported(2), v2], [score(9), undefined]])
  t.same(scoresOf(await relay.flushWindow('m2', events, versions)), [[1, 1], [2, 2], [3, 9]], 'an event from outside the outbox rides along')
  t.same(await d.store.pendingEvents('m2', 0), [])
  t.match(await d.broker.position('m2'), { seq: 3, version: 2 })
})

t.test('a relay that died after sequencing: the next relay of its entries gives no second seq', async (t) => {
  const d = deployment()
  const dying = d.relay()
  const v1 = await d.commit(reported(1))
  const markPublished = d.store.markPublished
  d.store.markPublished = async () => { throw new Error('killed before marking') }
  const w = window([[reported(1), v1]])
  await t.rejects(dying.flushWindow('m2', w.events, w.versions), /killed/)
  d.store.markPublished = markPublished
  t.equal((await d.store.pendingEvents('m2', 0)).length, 1, 'still in the outbox')
  await dying.sweep()
  t.same(await d.store.pendingEvents('m2', 0), [], 'the retry found it sequenced and marked it')
  t.same(scoresOf(d.delivered), [[1, 1]], 'delivered once')
})

t.test('another instance\'s unrelayed change goes first: the gap is filled from the store, in order', async (t) => {
  const d = deployment()
  const a = d.relay()
  const v1 = await d.commit(reported(1))
  await a.flushWindow('m2', [reported(1)], { each: [v1], all: [v1] })
  // Instance C committed version 2 and died before relaying it; A commits version 3.
  await d.commit(reported(2))
  const v3 = await d.commit(reported(3))
  t.same(scoresOf(await a.flushWindow('m2', [reported(3)], { each: [v3], all: [v3] })), [[2, 2], [3, 3]])
  t.same(scoresOf(d.delivered), [[1, 1], [2, 2], [3, 3]], 'version order, contiguous seqs')
  t.same(await d.store.pendingEvents('m2', 0), [])
})

t.test('a window with another instance\'s change in between relays each run; coalesced versions count', async (t) => {
  const d = deployment()
  const a = d.relay()
  const v1 = await d.commit(score(1))
  const v2 = await d.commit(reported(2)) // another instance's, relayed by nobody yet
  const v3 = await d.commit(score(3))
  // A's window: score 1 was replaced by score 3 (latest wins), version 2 is not A's.
  t.same(scoresOf(await a.flushWindow('m2', [score(3)], { each: [v3], all: [v1, v3] })), [[1, 2], [2, 3]])
  t.same(scoresOf(d.delivered), [[1, 2], [2, 3]], 'the replaced update is not sent; the other instance\'s change is, in order')
  t.match(await d.broker.position('m2'), { version: v3 })
  t.equal(v2, 2)
})

t.test('a change the outbox cannot account for starts a new epoch: every subscriber resyncs', async (t) => {
  const d = deployment()
  const a = d.relay()
  const v1 = await d.commit(reported(1))
  await a.flushWindow('m2', [reported(1)], { each: [v1], all: [v1] })
  const { epoch } = await d.broker.position('m2')
  await d.commit() // a change written without an event
  const v3 = await d.commit(reported(3))
  t.same(await a.flushWindow('m2', [reported(3)], { each: [v3], all: [v3] }), [], 'nothing is sent as an event')
  t.equal(d.resyncs(), 1)
  t.not((await d.broker.position('m2')).epoch, epoch)
  t.match(await d.broker.position('m2'), { version: 3 })
  t.same(await d.store.pendingEvents('m2', 0), [])
  t.match(d.logs, [['debug', /new epoch/]])
})

t.test('reconcile: the stream catches up with the store before a room shows the match', async (t) => {
  const d = deployment()
  const relay = d.relay()
  t.equal(await relay.reconcile('m2', await d.broker.position('m2'), 0), false, 'a match that never changed')
  // Version 1 was relayed; versions 2 and 3 were committed by an instance that died.
  const v1 = await d.commit(reported(1))
  await relay.flushWindow('m2', [reported(1)], { each: [v1], all: [v1] })
  await d.commit(reported(2))
  await d.commit(reported(3))
  t.equal(await relay.reconcile('m2', await d.broker.position('m2'), 3), true)
  t.same(scoresOf(d.delivered), [[1, 1], [2, 2], [3, 3]])
  t.equal(await relay.reconcile('m2', await d.broker.position('m2'), 3), false, 'nothing left to do')
  // A stream without a version (first use, or Redis lost it) adopts the store's.
  t.equal(await relay.reconcile('m1', await d.broker.position('m1'), 5), true)
  t.match(await d.broker.position('m1'), { seq: 0, version: 5 })
})

t.test('the sweeper relays entries whose lease expired, and retries what failed here', async (t) => {
  const d = deployment({ leaseMs: 50, sweepIntervalMs: 20 })
  // A dead instance's entry: nobody relays it until its lease has expired.
  await d.commit(reported(1))
  const survivor = d.relay()
  t.teardown(() => survivor.close())
  survivor.start()
  survivor.start()
  await until(() => d.delivered.length === 1)
  t.same(await d.store.pendingEvents('m2', 0), [])

  const relay = d.broker.relay.bind(d.broker)
  let down = true
  d.broker.relay = async (...args) => {
    if (down) throw new BrokerUnavailableError('redis down')
    return relay(...args)
  }
  const v2 = await d.commit(reported(2))
  await t.rejects(survivor.flushWindow('m2', [reported(2)], { each: [v2], all: [v2] }), { code: 'MATCHCAST_ERR_BROKER_UNAVAILABLE' })
  t.equal(await survivor.reconcile('m2', await d.broker.position('m2'), v2), false, 'a failed reconciliation is no change')
  down = false
  await until(() => d.delivered.length === 2)
  t.same(scoresOf(d.delivered), [[1, 1], [2, 2]])
})

t.test('a sweep stops at the first failure, logs a failed claim, and ends at close', async (t) => {
  const d = deployment({ leaseMs: 50 })
  const relay = d.relay()
  const v1 = await d.commit(reported(1))
  const brokerRelay = d.broker.relay.bind(d.broker)
  let calls = 0
  d.broker.relay = async () => {
    calls++
    throw new BrokerUnavailableError('redis down')
  }
  await t.rejects(relay.flushWindow('m2', [reported(1)], { each: [v1], all: [v1] }))
  await t.rejects(relay.flushWindow('m1', [score(1)], { each: [1], all: [1] }))
  calls = 0
  await relay.sweep()
  t.equal(calls, 1, 'the second failed match waits for the next sweep')
  d.broker.relay = brokerRelay
  const claim = d.store.claimEvents
  d.store.claimEvents = async () => { throw new Error('store down') }
  await relay.sweep()
  t.match(d.logs.filter(([level]) => level === 'error'), [['error', /claiming outbox entries failed/]])
  d.store.claimEvents = claim
  t.same(scoresOf(d.delivered), [[1, 1]], 'the failed matches went through at that sweep')
  await relay.close()
  t.equal(await relay.reconcile('m2', await d.broker.position('m2'), 9), false, 'nothing after close')
  await relay.sweep()
})

t.test('a relay that cannot settle gives up and leaves the entries for the next sweep', async (t) => {
  const d = deployment()
  const relay = d.relay()
  const v1 = await d.commit(reported(1))
  await relay.flushWindow('m2', [reported(1)], { each: [v1], all: [v1] })
  await d.commit()
  const v3 = await d.commit(reported(3))
  // Every rotation loses its race (another relay keeps moving the stream on).
  const brokerRelay = d.broker.relay.bind(d.broker)
  d.broker.relay = async (matchId, batch) => batch.rotateFrom === undefined ? brokerRelay(matchId, batch) : { status: 'moved', version: 2 }
  await t.rejects(relay.flushWindow('m2', [reported(3)], { each: [v3], all: [v3] }), /did not settle/)
  t.equal((await d.store.pendingEvents('m2', 0)).length, 1)
})

t.test('a gap whose fill itself hits a gap looks again', async (t) => {
  const d = deployment()
  const relay = d.relay()
  const v1 = await d.commit(reported(1))
  await relay.flushWindow('m2', [reported(1)], { each: [v1], all: [v1] })
  await d.commit(reported(2))
  const v3 = await d.commit(reported(3))
  const brokerRelay = d.broker.relay.bind(d.broker)
  let raced = false
  d.broker.relay = async (matchId, batch) => {
    // The first fill is refused once, as if the stream's version had been read before a concurrent relay.
    if (!raced && batch.base === 1) {
      raced = true
      return { status: 'gap', version: 1 }
    }
    return brokerRelay(matchId, batch)
  }
  t.same(scoresOf(await relay.flushWindow('m2', [reported(3)], { each: [v3], all: [v3] })), [[2, 2], [3, 3]])
  t.ok(raced)
})

t.test('close ends a sweep between matches', async (t) => {
  const d = deployment({ leaseMs: 50 })
  const relay = d.relay()
  await d.commit(reported(1))
  await d.store.updateMatch('m1', 0, {}, score(1))
  await new Promise((resolve) => setTimeout(resolve, 60))
  const brokerRelay = d.broker.relay.bind(d.broker)
  const relayed: string[] = []
  let closing: Promise<void> | undefined
  d.broker.relay = async (matchId, batch) => {
    relayed.push(matchId)
    closing ??= relay.close()
    return brokerRelay(matchId, batch)
  }
  await relay.sweep()
  await closing
  t.same(relayed, ['m1'], 'the sweep stopped after the match it was relaying')
  t.equal((await d.store.pendingEvents('m2', 0)).length, 1, 'what it did not reach stays in the outbox')
})
