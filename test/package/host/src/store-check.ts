// A host's own store checked by the conformance suite matchcast ships (type-checked here, run by the host's tap).
import { memoryStore, type Store } from 'matchcast'
import { storeSuite, type TestLike } from 'matchcast/testing'

export function checkMyStore (t: TestLike): void {
  storeSuite(t, async (t, seed) => {
    const store: Store = memoryStore(seed)
    t.teardown(() => store.close())
    return store
  })
}
