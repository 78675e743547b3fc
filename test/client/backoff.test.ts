/** Reconnect delays: full jitter between minMs and a cap that grows by factor, up to maxMs. */
import t from 'tap'
import { DEFAULT_BACKOFF, backoffDelay } from '../../client/backoff.js'

t.test('attempt n draws between minMs and min(maxMs, minMs * factor^(n+1))', async (t) => {
  const options = { minMs: 100, maxMs: 1000, factor: 2 }
  t.equal(backoffDelay(options, 0, () => 0), 100)
  t.equal(backoffDelay(options, 0, () => 1), 200)
  t.equal(backoffDelay(options, 2, () => 1), 800)
  t.equal(backoffDelay(options, 3, () => 1), 1000, 'capped at maxMs')
  t.equal(backoffDelay(options, 3, () => 0.5), 550)
  t.equal(backoffDelay(options, Infinity, () => 1), 1000, 'the whole window')
  t.equal(backoffDelay({ minMs: 100, maxMs: 1000, factor: 1 }, 5, () => 1), 100, 'factor 1: always minMs')
  for (let i = 0; i < 100; i++) {
    const d = backoffDelay(DEFAULT_BACKOFF, i % 10)
    t.ok(d >= 500 && d <= 20_000, `${d} within the defaults`)
  }
})
