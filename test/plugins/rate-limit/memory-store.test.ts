import t from 'tap'
import { limiterStoreSuite } from '../../../testing/limiter-store-suite.js'
import { MemoryLimiterStore, SWEEP_WINDOWS_ABOVE } from '../../../plugins/rate-limit/memory-store.js'

function fakeClock () {
  let now = 1_000_000
  return { now: () => now, advance: async (ms: number) => { now += ms } }
}

t.test('MemoryLimiterStore conforms to the LimiterStore contract', async (t) => {
  limiterStoreSuite(t, async (t) => {
    const clock = fakeClock()
    const store = new MemoryLimiterStore(clock.now)
    t.teardown(() => store.close())
    return { store, advance: clock.advance }
  })
})

t.test('the default clock is Date.now', async (t) => {
  const store = new MemoryLimiterStore()
  t.equal((await store.take('u', 1, 1)).allowed, true)
  t.equal((await store.take('u', 1, 1)).allowed, false)
  t.equal(store.mode, 'memory')
})

t.test('ended hit windows are swept once many keys are kept', async (t) => {
  const clock = fakeClock()
  const store = new MemoryLimiterStore(clock.now)
  for (let i = 0; i < SWEEP_WINDOWS_ABOVE; i++) await store.hit(`ip:${i}`, 100)
  await store.hit('ip:late', 1000)
  await clock.advance(200)
  // Above the threshold with the first 10 000 ended: a new key sweeps them, the live one stays.
  t.equal((await store.hit('ip:new', 100)).count, 1)
  t.equal((await store.hit('ip:late', 1000)).count, 2, 'a live window survives the sweep')
  t.equal((await store.hit('ip:0', 100)).count, 1, 'an ended window starts again')
})
