import t from 'tap'
import { Batcher, type BatcherOptions, type TimerApi } from '../../../plugins/broadcast/batcher.js'
import type { PendingEvent } from '../../../schemas/messages.js'

/** A fake clock: timers fire only when the test advances time. */
class FakeClock implements TimerApi {
  now = 0
  #timers = new Map<number, { at: number, fn: () => void }>()
  #next = 1

  setTimeout (fn: () => void, ms: number): unknown {
    const id = this.#next++
    this.#timers.set(id, { at: this.now + ms, fn })
    return id
  }

  clearTimeout (handle: unknown): void {
    this.#timers.delete(handle as number)
  }

  get scheduled (): number { return this.#timers.size }

  /** Moves time forward, firing due timers in order, and lets their flushes settle. */
  async advance (ms: number): Promise<void> {
    const until = this.now + ms
    for (;;) {
      const due = [...this.#timers.entries()].filter(([, timer]) => timer.at <= until).sort((a, b) => a[1].at - b[1].at)[0]
      if (due === undefined) break
      this.#timers.delete(due[0])
      this.now = due[1].at
      due[1].fn()
    }
    this.now = until
    await settle()
  }
}

/** Lets every already-resolved promise chain run. */
async function settle (): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve()
}

const score = (n: number): PendingEvent => ({ type: 'score_updated', data: { scores: { 'u-a': n } } })
const reported: PendingEvent = { type: 'result_reported', data: { by: 'u-a', scores: { 'u-a': 1 } } }
const completed: PendingEvent = { type: 'match_completed', data: { state: 'completed', scores: { 'u-a': 1 }, winnerId: 'u-a', completedAt: '2030-01-01T00:00:00.000Z', certificateId: 'c-1' } }
const cancelled: PendingEvent = { type: 'match_cancelled', data: { state: 'cancelled', reason: 'rain' } }

function setup (options: Partial<BatcherOptions> = {}) {
  const clock = new FakeClock()
  const flushed: Array<[string, PendingEvent[]]> = []
  const errors: Array<[unknown, string]> = []
  const batcher = new Batcher({
    windowMs: 50,
    maxBatch: 100,
    flush: async (matchId, events) => { flushed.push([matchId, events]) },
    onError: (err, matchId) => errors.push([err, matchId]),
    timers: clock,
    ...options
  })
  return { clock, flushed, errors, batcher }
}

t.test('latest wins: a burst of score updates flushes only the final payload', async (t) => {
  const { clock, flushed, batcher } = setup()
  for (let i = 1; i <= 20; i++) batcher.add('m1', score(i))
  t.same(flushed, [], 'nothing before the window closes')
  await clock.advance(50)
  t.same(flushed, [['m1', [score(20)]]])
})

t.test('latest wins keeps the other events and their order', async (t) => {
  const { clock, flushed, batcher } = setup()
  batcher.add('m1', score(1))
  batcher.add('m1', reported)
  batcher.add('m1', score(2))
  await clock.advance(50)
  t.same(flushed, [['m1', [reported, score(2)]]], 'the replaced update is gone; the latest takes its turn at the end')
})

t.test('an empty window emits nothing, and nothing stays scheduled after a flush', async (t) => {
  const { clock, flushed, batcher } = setup()
  await clock.advance(1000)
  t.same(flushed, [])
  batcher.add('m1', score(1))
  t.equal(clock.scheduled, 1, 'one timer per open window')
  t.equal(batcher.pending, 1)
  await clock.advance(50)
  t.equal(clock.scheduled, 0)
  t.equal(batcher.pending, 0)
  await clock.advance(1000)
  t.same(flushed, [['m1', [score(1)]]], 'the next window stays empty')
})

t.test('the window is configurable; it opens with its first event', async (t) => {
  const { clock, flushed, batcher } = setup({ windowMs: 30 })
  batcher.add('m1', score(1))
  await clock.advance(10)
  batcher.add('m1', reported)
  await clock.advance(19)
  t.same(flushed, [], 'not before 30 ms')
  await clock.advance(1)
  t.same(flushed, [['m1', [score(1), reported]]])
})

t.test('windowMs 0 flushes every event on its own at once', async (t) => {
  const { clock, flushed, batcher } = setup({ windowMs: 0 })
  batcher.add('m1', score(1))
  batcher.add('m1', score(2))
  await settle()
  t.same(flushed, [['m1', [score(1)]], ['m1', [score(2)]]])
  t.equal(clock.scheduled, 0)
})

t.test('windowMs 0: events that arrive while the previous batch is being published go out together next', async (t) => {
  const flushed: PendingEvent[][] = []
  const pending: Array<() => void> = []
  const batcher = new Batcher({
    windowMs: 0,
    maxBatch: 100,
    flush: (_matchId, events) => new Promise<void>((resolve) => { flushed.push(events); pending.push(resolve) }),
    onError: () => t.fail('no flush fails')
  })
  batcher.add('m1', reported)
  await settle()
  t.same(flushed, [[reported]], 'the first event goes at once')
  batcher.add('m1', score(1))
  batcher.add('m1', score(2))
  batcher.add('m1', reported)
  batcher.add('m2', score(9))
  await settle()
  t.same(flushed, [[reported], [score(9)]], 'm1 waits for its publish in flight; m2 is independent')
  pending.shift()!()
  await settle()
  t.same(flushed[2], [score(2), reported], 'then everything that arrived meanwhile, coalesced, in one batch')
  for (const resolve of pending.splice(0)) resolve()
  await batcher.flushAll()
  t.equal(flushed.length, 3)
  t.equal(batcher.pending, 0)
})

t.test('maxBatch flushes a full window before its time', async (t) => {
  const { clock, flushed, batcher } = setup({ maxBatch: 2 })
  batcher.add('m1', reported)
  batcher.add('m1', score(1))
  await settle()
  t.same(flushed, [['m1', [reported, score(1)]]])
  t.equal(clock.scheduled, 0, 'its timer is cleared')
})

t.test('a terminal event flushes at once: what is pending first, then the terminal event', async (t) => {
  const { clock, flushed, batcher } = setup()
  batcher.add('m1', score(1))
  batcher.add('m1', reported)
  batcher.add('m1', completed)
  await settle()
  t.same(flushed, [['m1', [score(1), reported, completed]]])
  t.equal(clock.scheduled, 0)
  batcher.add('m2', cancelled)
  await settle()
  t.same(flushed[1], ['m2', [cancelled]], 'a terminal event alone flushes too')
})

t.test('two matches batch independently and flushes of one match never overlap', async (t) => {
  const clock = new FakeClock()
  const log: string[] = []
  const releases: Array<() => void> = []
  let inFlight = 0
  let maxInFlight = 0
  const batcher = new Batcher({
    windowMs: 50,
    maxBatch: 100,
    timers: clock,
    onError: () => {},
    flush: async (matchId, events) => {
      inFlight += matchId === 'm1' ? 1 : 0
      maxInFlight = Math.max(maxInFlight, inFlight)
      log.push(`start ${matchId} ${events.length}`)
      // m1's flushes are slow: each waits for the test to release it.
      if (matchId === 'm1') await new Promise<void>((resolve) => releases.push(resolve))
      log.push(`end ${matchId}`)
      inFlight -= matchId === 'm1' ? 1 : 0
    }
  })
  batcher.add('m1', score(1))
  await clock.advance(20)
  batcher.add('m2', reported)
  await clock.advance(30)
  t.same(log, ['start m1 1'], 'm1 flushed at 50 ms; m2 is still in its own window')
  batcher.add('m1', reported)
  batcher.add('m1', completed)
  await settle()
  t.same(log, ['start m1 1'], 'the next flush of m1 waits for the previous one')
  await clock.advance(20)
  t.same(log, ['start m1 1', 'start m2 1', 'end m2'], 'm2 does not wait for m1')
  releases.shift()!()
  await settle()
  t.same(log.slice(3), ['end m1', 'start m1 2'])
  releases.shift()!()
  await batcher.flushAll()
  t.same(log.slice(5), ['end m1'])
  t.equal(maxInFlight, 1)
})

t.test('a failed flush is reported and later flushes continue', async (t) => {
  let fail = true
  const flushed: PendingEvent[][] = []
  const { clock, errors, batcher } = setup({
    flush: async (_matchId, events) => {
      if (fail) {
        fail = false
        throw new Error('broker down')
      }
      flushed.push(events)
    }
  })
  batcher.add('m1', score(1))
  batcher.add('m1', completed)
  batcher.add('m1', reported)
  await clock.advance(50)
  t.equal(errors.length, 1)
  t.match(errors[0], [{ message: 'broker down' }, 'm1'])
  t.same(flushed, [[reported]])
})

t.test('flushAll flushes every open window now and resolves when they have settled', async (t) => {
  const { clock, flushed, batcher } = setup()
  batcher.add('m1', score(1))
  batcher.add('m2', score(2))
  await batcher.flushAll()
  t.same(flushed.map(([id]) => id).sort(), ['m1', 'm2'])
  t.equal(clock.scheduled, 0)
  await batcher.flushAll()
  t.equal(flushed.length, 2, 'nothing more to flush')
})

t.test('real timers are unref()d and fire', async (t) => {
  const flushed: PendingEvent[][] = []
  const batcher = new Batcher({ windowMs: 1, maxBatch: 10, flush: async (_id, events) => { flushed.push(events) }, onError: () => {} })
  batcher.add('m1', score(1))
  batcher.add('m1', completed)
  batcher.add('m1', score(2))
  await new Promise((resolve) => setTimeout(resolve, 5))
  await batcher.flushAll()
  t.same(flushed, [[score(1), completed], [score(2)]])
})
