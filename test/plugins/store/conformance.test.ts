import t from 'tap'
import { memoryStore } from '../../../plugins/store/memory-store.js'
import { withStoreTimeout } from '../../../plugins/store/timeout.js'
import { storeSuite } from '../../../testing/store-suite.js'
import { pgStore } from '../../postgres.js'

t.test('memory store', async (t) => {
  storeSuite(t, async (_t, seed) => memoryStore(seed))
})

t.test('a store behind the store timeout behaves as the store itself', async (t) => {
  storeSuite(t, async (_t, seed) => withStoreTimeout(memoryStore(seed), 5000))
})

t.test('PostgreSQL store (a fresh schema per test)', async (t) => {
  storeSuite(t, (t, seed) => pgStore(t, seed))
})
