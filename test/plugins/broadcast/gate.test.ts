import t from 'tap'
import { SequenceGate, type SequencedBatch } from '../../../plugins/broadcast/gate.js'
import type { StreamPosition } from '../../../plugins/broadcast/broker.js'
import type { MatchEvent } from '../../../schemas/messages.js'

function ev (seq: number): MatchEvent {
  return { type: 'score_updated', matchId: 'm1', seq, ts: '2030-01-01T00:00:00.000Z', data: { scores: { 'u-a': seq } } }
}

function batch (epoch: string, ...seqList: number[]): SequencedBatch {
  return { epoch, seq: seqList[seqList.length - 1]!, events: seqList.map(ev) }
}

/** A stream the gate reads: its head, its history (undefined = cannot replay), failures, and reads held by the test. */
function setup () {
  const stream = {
    head: { epoch: 'e1', seq: 0 } as StreamPosition,
    /** Events `since` returns from; `undefined` makes it answer "history cannot cover". */
    history: [] as MatchEvent[] | undefined,
    fail: false,
    /** When set, the next read waits for `release()`. */
    hold: false,
    reads: [] as string[]
  }
  let releaseRead: (() => void) | undefined
  const gate: { delivered: number[][], resyncs: number, errors: unknown[] } = { delivered: [], resyncs: 0, errors: [] }
  const read = async <T>(name: string, answer: () => T): Promise<T> => {
    stream.reads.push(name)
    if (stream.hold) {
      stream.hold = false
      await new Promise<void>((resolve) => { releaseRead = resolve })
    }
    if (stream.fail) throw new Error('down')
    return answer()
  }
  const g = new SequenceGate({
    position: () => read('position', () => ({ ...stream.head })),
    since: (after, epoch) => read('since', () => {
      if (stream.history === undefined || epoch !== stream.head.epoch) return undefined
      return stream.history.filter((e) => e.seq > after)
    })
  }, {
    deliver: (events) => gate.delivered.push(events.map((e) => e.seq)),
    resync: () => gate.resyncs++,
    onError: (err) => gate.errors.push(err)
  })
  return { g, stream, gate, release: () => releaseRead!() }
}

async function settle (): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve()
}

t.test('batches wait for the starting position, then flow in order; duplicates are dropped', async (t) => {
  const { g, stream, gate } = setup()
  stream.head = { epoch: 'e1', seq: 4 }
  t.equal(g.position, undefined)
  g.sync()
  g.push(batch('e1', 5, 6))
  t.same(gate.delivered, [], 'held until the starting position is known')
  await settle()
  t.same(gate.delivered, [[5, 6]])
  t.same(g.position, { epoch: 'e1', seq: 6 })
  g.push(batch('e1', 5, 6))
  g.push(batch('e1', 6, 7))
  t.same(gate.delivered, [[5, 6], [7]], 'already delivered seqs are never delivered again')
  t.same(stream.reads, ['position'])
})

t.test('an out-of-order batch waits while the gap is filled; batches arriving meanwhile wait too', async (t) => {
  const { g, stream, gate, release } = setup()
  g.sync()
  await settle()
  stream.hold = true
  stream.head = { epoch: 'e1', seq: 3 }
  stream.history = [ev(1), ev(2), ev(3)]
  g.push(batch('e1', 3))
  g.push(batch('e1', 1, 2))
  t.same(gate.delivered, [], 'nothing while the fill runs')
  t.same(stream.reads, ['position', 'since'])
  release()
  await g.waitFor('e1', 3)
  t.same(gate.delivered, [[1, 2, 3]], 'each event once, in order')
})

t.test('out-of-order batches with no read in flight: the later one waits for the earlier', async (t) => {
  const { g, gate, stream } = setup()
  g.sync()
  await settle()
  stream.fail = true
  g.push(batch('e1', 2))
  await settle()
  t.equal(g.stale, true, 'its fill failed, so the gate waits for batches')
  g.push(batch('e1', 1))
  t.same(gate.delivered, [[1], [2]])
})

t.test('a gap no batch fills is filled from history', async (t) => {
  const { g, stream, gate } = setup()
  g.sync()
  await settle()
  stream.head = { epoch: 'e1', seq: 4 }
  stream.history = [ev(1), ev(2), ev(3), ev(4)]
  g.push(batch('e1', 4))
  await settle()
  t.same(gate.delivered, [[1, 2, 3, 4]], 'the fill reads up to the head; the batch is then a duplicate')
  t.same(g.position, { epoch: 'e1', seq: 4 })
  t.equal(gate.resyncs, 0)
})

t.test('waitFor resolves at once when delivered, later when the batch gets through', async (t) => {
  const { g, gate, stream, release } = setup()
  g.sync()
  await settle()
  g.push(batch('e1', 1))
  await g.waitFor('e1', 1)
  let done = false
  const waiting = g.waitFor('e1', 3).then(() => { done = true })
  stream.hold = true
  stream.head = { epoch: 'e1', seq: 3 }
  stream.history = [ev(1), ev(2), ev(3)]
  g.push(batch('e1', 3))
  await settle()
  t.equal(done, false)
  release()
  await waiting
  t.same(gate.delivered, [[1], [2, 3]])
})

t.test('history that cannot cover the gap: resync, then continue from the head', async (t) => {
  const { g, stream, gate } = setup()
  g.sync()
  await settle()
  stream.head = { epoch: 'e1', seq: 9 }
  stream.history = undefined
  g.push(batch('e1', 9))
  await g.waitFor('e1', 9)
  t.equal(gate.resyncs, 1)
  t.same(gate.delivered, [], 'nothing out of order, nothing with a gap')
  g.push(batch('e1', 10))
  t.same(gate.delivered, [[10]])
})

t.test('a fill that finds another epoch adopts it and resyncs', async (t) => {
  const { g, stream, gate } = setup()
  g.sync()
  await settle()
  stream.head = { epoch: 'e2', seq: 3 }
  g.push(batch('e1', 5))
  await settle()
  t.equal(gate.resyncs, 1)
  t.same(g.position, { epoch: 'e2', seq: 3 })
  g.push(batch('e1', 6))
  t.same(gate.delivered, [], 'late batches of a retired epoch are dropped')
  g.push(batch('e2', 4))
  t.same(gate.delivered, [[4]])
})

t.test('a batch of another epoch: the head decides, then subscribers resync once', async (t) => {
  const { g, stream, gate } = setup()
  g.sync()
  await settle()
  g.push(batch('e1', 1))
  stream.head = { epoch: 'e3', seq: 2 }
  // Two rotations whose announcements arrive out of order (e3 before e2).
  g.push({ epoch: 'e3', seq: 2, events: [] })
  g.push({ epoch: 'e2', seq: 1, events: [] })
  await g.waitFor('e3', 2)
  t.equal(gate.resyncs, 1)
  t.same(g.position, { epoch: 'e3', seq: 2 })
  await g.waitFor('e2', 9)
  t.pass('a retired epoch never keeps a waiter')
  g.push({ epoch: 'e2', seq: 5, events: [] })
  g.push(batch('e1', 2))
  g.push(batch('e3', 3))
  t.same(gate.delivered, [[1], [3]], 'late batches of retired epochs are dropped')
  t.equal(gate.resyncs, 1)
})

t.test('a stale batch of an unknown older epoch is dropped once the head is read', async (t) => {
  const { g, stream, gate } = setup()
  g.sync()
  await settle()
  g.push({ epoch: 'e0', seq: 7, events: [] })
  await settle()
  t.equal(gate.resyncs, 0, 'the head is still e1')
  t.same(stream.reads, ['position', 'position'])
  g.push(batch('e1', 1))
  t.same(gate.delivered, [[1]])
})

t.test('an announcement of the same epoch past what was delivered is a gap to fill', async (t) => {
  const { g, stream, gate } = setup()
  g.sync()
  await settle()
  stream.head = { epoch: 'e1', seq: 2 }
  stream.history = [ev(1), ev(2)]
  g.push({ epoch: 'e1', seq: 2, events: [] })
  await g.waitFor('e1', 2)
  t.same(gate.delivered, [[1, 2]])
})

t.test('sync: fills up to the head, resyncs on a new epoch, does nothing at the head', async (t) => {
  const { g, stream, gate } = setup()
  g.sync()
  await settle()
  g.sync()
  await settle()
  t.same(gate.delivered, [])
  stream.head = { epoch: 'e1', seq: 2 }
  stream.history = [ev(1), ev(2)]
  g.sync()
  await settle()
  t.same(gate.delivered, [[1, 2]])
  stream.head = { epoch: 'e2', seq: 0 }
  g.sync()
  await settle()
  t.equal(gate.resyncs, 1)
  t.same(g.position, { epoch: 'e2', seq: 0 })
})

t.test('a fill that finds nothing past what was delivered although a batch said so: resync', async (t) => {
  const { g, stream, gate } = setup()
  g.sync()
  await settle()
  stream.history = []
  g.push({ epoch: 'e1', seq: 2, events: [] })
  await g.waitFor('e1', 2)
  t.equal(gate.resyncs, 1)
  t.same(g.position, { epoch: 'e1', seq: 2 }, 'continues after the newest batch it held')
  t.same(stream.reads, ['position', 'since', 'position'], 'no endless refills')
})

t.test('reads that fail: the gate goes stale, waiters are released, a new batch or sync retries', async (t) => {
  const { g, stream, gate } = setup()
  stream.fail = true
  g.sync()
  await settle()
  t.equal(g.stale, true)
  t.equal(gate.errors.length, 1)
  await g.waitFor('e1', 1)
  t.pass('a waiter does not hang on a stale gate')
  g.push(batch('e1', 1))
  await settle()
  t.equal(gate.errors.length, 2, 'the batch made it try again')
  stream.fail = false
  stream.head = { epoch: 'e1', seq: 1 }
  g.sync()
  await settle()
  t.equal(g.stale, false)
  t.equal(gate.resyncs, 1, 'the first position was never known: subscribers resync')
  t.same(gate.delivered, [])
  stream.fail = true
  stream.head = { epoch: 'e1', seq: 3 }
  g.push(batch('e1', 3))
  await settle()
  t.equal(g.stale, true, 'the fill failed')
  stream.fail = false
  stream.history = [ev(2), ev(3)]
  g.push(batch('e1', 4))
  await settle()
  t.same(gate.delivered, [[2, 3], [4]], 'the next batch retried the fill')
})

t.test('close: waiters released, batches ignored, reads in flight dropped', async (t) => {
  const a = setup()
  a.g.sync()
  await settle()
  const waiting = a.g.waitFor('e1', 5)
  a.g.close()
  await waiting
  a.g.push(batch('e1', 1))
  t.same(a.gate.delivered, [])

  const b = setup()
  b.stream.hold = true
  b.g.sync()
  b.g.close()
  b.release()
  await settle()
  t.equal(b.g.position, undefined, 'a position read after close changes nothing')

  const c = setup()
  c.g.sync()
  await settle()
  c.stream.hold = true
  c.stream.history = [ev(1)]
  c.g.push(batch('e1', 2))
  c.g.close()
  c.release()
  await settle()
  t.same(c.gate.delivered, [], 'a fill finishing after close delivers nothing')

  const d = setup()
  d.g.sync()
  await settle()
  d.stream.history = undefined
  d.g.push(batch('e1', 2))
  d.stream.hold = true
  await Promise.resolve()
  d.g.close()
  d.release()
  await settle()
  t.equal(d.gate.resyncs, 0, 'a head read finishing after close resyncs nobody')
  t.same(d.stream.reads, ['position', 'since', 'position'])
})

t.test('a stale gate holding a batch of another epoch waits for the next batch or sync: it does not spin on failing reads', async (t) => {
  const { g, stream, gate } = setup()
  g.sync()
  await settle()
  stream.fail = true
  g.push(batch('e2', 1))
  await settle()
  const reads = stream.reads.length
  await settle()
  t.equal(stream.reads.length, reads, 'no read after the failed one')
  t.equal(g.stale, true)
  // Stop a spinning gate (the bug this guards) so the test still ends.
  stream.fail = false
  stream.head = { epoch: 'e2', seq: 1 }
  g.sync()
  await settle()
  t.equal(gate.resyncs, 1, 'the next sync adopts the new epoch')
})

t.test('whenIdle: at once without a read, after the running read (and the one it asks for), or on close', async (t) => {
  const { g, stream, release } = setup()
  await g.whenIdle()
  t.pass('idle before any read')
  stream.hold = true
  g.sync()
  let idle = false
  const waiting = g.whenIdle().then(() => { idle = true })
  await settle()
  t.equal(idle, false, 'a read is running')
  release()
  await waiting
  t.equal(g.position?.epoch, 'e1', 'resolved once the read was done')

  const b = setup()
  b.stream.hold = true
  b.g.sync()
  const closing = b.g.whenIdle()
  b.g.close()
  await closing
  t.pass('closing releases it')
})

t.test('started: once the first read of the head has settled, succeeded or failed, or the gate closed', async (t) => {
  const { g, stream, release } = setup()
  let started = false
  const waiting = g.started().then(() => { started = true })
  stream.hold = true
  g.sync()
  await settle()
  t.equal(started, false, 'the first read is running')
  release()
  await waiting
  t.equal(g.position?.epoch, 'e1', 'resolved after the starting position was taken')

  const failing = setup()
  failing.stream.fail = true
  failing.g.sync()
  await failing.g.started()
  t.equal(failing.g.stale, true, 'a failed first read settles it too')

  const closed = setup()
  closed.stream.hold = true
  closed.g.sync()
  const closing = closed.g.started()
  closed.g.close()
  await closing
  t.pass('closing settles it')
})
