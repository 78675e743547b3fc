/** Bounding calls in time: `within` per call, `Deadlines` for many calls of the same bound. */
import t from 'tap'
import { Deadlines, within } from '../../lib/timeout.js'

const never = () => new Promise<never>(() => {})
const expired = () => new Error('expired')
// The timers under test never hold the process open (unref): this one does, until the tests end.
const awake = setInterval(() => {}, 1000)
t.teardown(() => clearInterval(awake))

t.test('within: the work, or the timeout error', async (t) => {
  t.equal(await within(1000, Promise.resolve(1)), 1)
  await t.rejects(within(5, never()), { message: 'no answer within 5 ms' })
})

t.test('Deadlines: settled calls answer as they did; pending ones expire in the order they started', async (t) => {
  const deadlines = new Deadlines(40)
  t.equal(await deadlines.bound(Promise.resolve('done'), expired), 'done')
  await t.rejects(deadlines.bound(Promise.reject(new Error('failed')), expired), { message: 'failed' })

  const order: string[] = []
  const first = deadlines.bound(never(), () => new Error('first')).catch((err: Error) => order.push(err.message))
  // Started later: still pending when the first expires, it expires at its own deadline.
  await new Promise((resolve) => setTimeout(resolve, 20))
  const second = deadlines.bound(never(), () => new Error('second')).catch((err: Error) => order.push(err.message))
  const answered = deadlines.bound(new Promise((resolve) => setTimeout(() => resolve('late but in time'), 30)), expired)
  await first
  t.same(order, ['first'], 'the second is not due yet')
  t.equal(await answered, 'late but in time')
  await second
  t.same(order, ['first', 'second'])
})

t.test('Deadlines: the timer outlives the last call by at most `ms`, then is off; a call after it is bounded again', async (t) => {
  const deadlines = new Deadlines(30)
  t.equal(deadlines.armed, false, 'no timer before the first call')
  t.equal(await deadlines.bound(Promise.resolve(1), expired), 1)
  t.equal(deadlines.armed, true, 'not stopped with the call: the next call reuses it')
  await new Promise((resolve) => setTimeout(resolve, 60))
  t.equal(deadlines.armed, false, 'ran out with nothing due, and stayed off')

  // A call that starts while the timer of an earlier, settled call is on expires at its own deadline, not the earlier one's.
  t.equal(await deadlines.bound(Promise.resolve(2), expired), 2)
  await new Promise((resolve) => setTimeout(resolve, 15))
  const started = Date.now()
  await t.rejects(deadlines.bound(never(), () => new Error('late call')), { message: 'late call' })
  t.ok(Date.now() - started >= 29, `expired after its own 30 ms (took ${Date.now() - started} ms)`)
  await new Promise((resolve) => setTimeout(resolve, 40))
  t.equal(deadlines.armed, false)
})

t.test('Deadlines: clear() stops the timer at once', async (t) => {
  const deadlines = new Deadlines(10_000)
  await deadlines.bound(Promise.resolve('done'), expired)
  t.equal(deadlines.armed, true)
  deadlines.clear()
  t.equal(deadlines.armed, false)
})
