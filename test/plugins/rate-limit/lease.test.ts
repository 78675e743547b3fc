/**
 * The lease, pure: what it holds, when it asks for more and what it reports, on a fake clock.
 */
import t from 'tap'
import { Lease, LEASE_MIN_IDLE_MS, leaseIdleMs, Leases, lowWaterMark, SWEEP_LEASES_ABOVE } from '../../../plugins/rate-limit/lease.js'

const T0 = 1_000_000

/** Takes until the lease refuses; how many it allowed. */
function drain (lease: Lease, now: number): number {
  let n = 0
  while (lease.take(now)) n++
  return n
}

t.test('the low-water mark is a quarter of the lease, rounded down', async (t) => {
  t.same([2, 3, 4, 5, 8, 10, 100].map(lowWaterMark), [0, 0, 1, 1, 2, 2, 25])
})

t.test('idle time: the refill time of the bucket, at least one second', async (t) => {
  t.equal(leaseIdleMs(10, 20), 2000)
  t.equal(leaseIdleMs(0.5, 3), 6000)
  t.equal(leaseIdleMs(3, 1), 1000, '333 ms of refill: the minimum')
  t.equal(leaseIdleMs(1e9, 1e9), LEASE_MIN_IDLE_MS)
})

t.test('an empty lease asks for its whole size, and holds what it is granted', async (t) => {
  const lease = new Lease(5, 2000)
  t.equal(lease.take(T0), false, 'nothing held yet')
  t.equal(lease.due(), 5)
  t.equal(lease.ask(), 5)
  t.equal(lease.due(), 0, 'one request at a time')
  lease.grant({ granted: 5, remaining: 15, resetMs: 0 }, T0)
  t.equal(lease.held(T0), 5)
  t.equal(lease.due(), 0)
  t.equal(lease.take(T0), true)
  t.same(lease.standing(T0), { remaining: 19, resetMs: 0 }, 'held here plus the shared bucket, as last told')
})

t.test('a top-up is due once a take leaves the low-water mark; it brings the lease back to its size', async (t) => {
  const lease = new Lease(8, 2000)
  lease.ask()
  lease.grant({ granted: 8, remaining: 0, resetMs: 50 }, T0)
  const due: number[] = []
  for (let i = 0; i < 6; i++) {
    lease.take(T0)
    due.push(lease.due())
  }
  t.same(due, [0, 0, 0, 0, 0, 6], 'at 2 held (a quarter of 8), 6 more are due')
  t.equal(lease.ask(), 6)
  t.equal(lease.take(T0), true, 'held tokens are spent while the request is in flight')
  t.equal(lease.due(), 0)
  lease.grant({ granted: 6, remaining: 0, resetMs: 50 }, T0 + 10)
  t.equal(lease.held(T0 + 10), 7, 'held plus asked never exceeds the size')
})

t.test('never more than its size held, even if told of more than it asked for', async (t) => {
  const lease = new Lease(4, 2000)
  lease.ask()
  lease.grant({ granted: 9, remaining: 0, resetMs: 0 }, T0)
  t.equal(lease.held(T0), 4)
  t.equal(lease.take(T0) && lease.take(T0) && lease.take(T0), true)
  t.equal(lease.ask(), 3)
  lease.grant({ granted: 3, remaining: 0, resetMs: 0 }, T0)
  t.equal(lease.held(T0), 4)
})

t.test('a partial or empty grant: what the bucket had', async (t) => {
  const lease = new Lease(5, 2000)
  lease.ask()
  lease.grant({ granted: 2, remaining: 0, resetMs: 80 }, T0)
  t.equal(drain(lease, T0), 2)
  t.same(lease.standing(T0 + 30), { remaining: 0, resetMs: 50 }, 'the reset counts down from the answer')
  t.same(lease.standing(T0 + 100), { remaining: 0, resetMs: 0 })
  lease.ask()
  lease.grant({ granted: 0, remaining: 0, resetMs: 40 }, T0 + 100)
  t.equal(lease.take(T0 + 100), false)
  t.equal(lease.due(), 5, 'the next message asks again')
})

t.test('a failed request adds nothing and lets the next one start', async (t) => {
  const lease = new Lease(5, 2000)
  lease.ask()
  lease.fail()
  t.equal(lease.held(T0), 0)
  t.equal(lease.due(), 5)
})

t.test('tokens unused for idleMs are forgotten; each take or grant renews them', async (t) => {
  const lease = new Lease(5, 1000)
  lease.ask()
  lease.grant({ granted: 5, remaining: 10, resetMs: 0 }, T0)
  t.equal(lease.take(T0 + 999), true, 'still held just before')
  t.equal(lease.take(T0 + 1998), true, 'the take renewed them')
  t.equal(lease.held(T0 + 2998), 0, 'gone after idleMs unused')
  t.equal(lease.take(T0 + 2998), false)
  t.same(lease.standing(T0 + 2998), { remaining: 10, resetMs: 0 })
})

t.test('idle: nothing held and nothing asked for', async (t) => {
  const lease = new Lease(5, 1000)
  t.equal(lease.idle(T0), true)
  lease.ask()
  t.equal(lease.idle(T0 + 5000), false, 'a request in flight')
  lease.grant({ granted: 5, remaining: 0, resetMs: 0 }, T0)
  t.equal(lease.idle(T0 + 10), false, 'tokens held')
  t.equal(lease.idle(T0 + 1000), true, 'forgotten')
})

t.test('Leases: one per user, made once; idle ones swept once many are kept', async (t) => {
  const leases = new Leases()
  let made = 0
  const make = () => { made++; return new Lease(5, 1000) }
  const a = leases.get('u-a', T0, make)
  t.equal(leases.get('u-a', T0, make), a)
  t.equal(made, 1)
  a.ask()
  a.grant({ granted: 5, remaining: 0, resetMs: 0 }, T0)
  const b = leases.get('u-b', T0, make)
  b.ask() // in flight
  for (let i = 0; leases.size < SWEEP_LEASES_ABOVE; i++) leases.get(`idle-${i}`, T0, make)
  t.equal(leases.size, SWEEP_LEASES_ABOVE)
  leases.get('u-new', T0 + 10, make)
  t.equal(leases.size, 3, 'the idle ones went; a lease holding tokens and one asking stayed, and the new one')
  t.equal(leases.get('u-a', T0 + 10, make), a)
  t.equal(leases.get('u-b', T0 + 10, make), b)
  leases.clear()
  t.equal(leases.size, 0)
})
