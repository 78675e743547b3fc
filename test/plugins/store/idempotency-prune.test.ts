/**
 * Expired idempotency keys are pruned when due and never on an idle schedule: a request with a key
 * arms one timer, a pruning re-arms it only while keys are left.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { IdempotencyPruner } from '../../../plugins/store/idempotency.js'
import { memoryStore } from '../../../plugins/store/memory-store.js'
import type { PruneResult, Store } from '../../../plugins/store/store.js'
import { pgStore, sql } from '../../postgres.js'
import { bearer, finalizeM1, httpApp, liveSeed } from '../../routes/http/setup.js'
import { until } from '../../helper.js'

/** A memory store whose prunings are counted, answering `results` in turn. */
function countingStore (results: Array<PruneResult | Error>) {
  const store = memoryStore() as Store & { pruneIdempotent (ttlMs: number): Promise<PruneResult> }
  const calls: number[] = []
  store.pruneIdempotent = async (ttlMs) => {
    calls.push(ttlMs)
    const next = results.shift()!
    if (next instanceof Error) throw next
    return next
  }
  return { store, calls }
}

t.test('a touch arms one pruning for when the key expires; it re-arms while keys are left, then stops', async (t) => {
  const { store, calls } = countingStore([{ deleted: 1, nextExpiryMs: 10 }, { deleted: 1, nextExpiryMs: undefined }])
  const pruner = new IdempotencyPruner(store, 30, (err) => t.fail(String(err)))
  t.teardown(() => pruner.close())
  t.equal(pruner.armed, false, 'idle: nothing armed')
  pruner.touch()
  pruner.touch()
  pruner.touch()
  t.equal(pruner.armed, true)
  await until(() => calls.length === 1)
  t.same(calls, [30], 'one pruning for three touches, with the TTL')
  t.equal(pruner.armed, true, 'keys are left: armed again')
  await until(() => calls.length === 2)
  t.equal(pruner.armed, false, 'none left: nothing armed')
  await sleep(60)
  t.equal(calls.length, 2, 'and nothing runs')
})

t.test('a failed pruning is reported and tried again later; close disarms', async (t) => {
  const { store, calls } = countingStore([new Error('database down'), { deleted: 0, nextExpiryMs: 5000 }])
  const errors: unknown[] = []
  const pruner = new IdempotencyPruner(store, 20, (err) => errors.push(err))
  pruner.touch()
  await until(() => calls.length === 2)
  t.match(errors, [{ message: 'database down' }])
  t.equal(pruner.armed, true)
  pruner.close()
  t.equal(pruner.armed, false)
  pruner.touch()
  t.equal(pruner.armed, false, 'closed: touches arm nothing')
})

t.test('a store that cannot prune is left alone', async (t) => {
  const pruner = new IdempotencyPruner({} as Store, 10, (err) => t.fail(String(err)))
  pruner.touch()
  t.equal(pruner.armed, false)
})

const approve = (app: Awaited<ReturnType<typeof httpApp>>['app'], payoutId: string) =>
  app.inject({ method: 'POST', url: `/payouts/${payoutId}/approve`, headers: { ...bearer('u-org'), 'idempotency-key': 'k1' } })

t.test('PostgreSQL: an approval with an Idempotency-Key leaves no row once the key expired, with no further request', async (t) => {
  const store = await pgStore(t, liveSeed())
  // Long enough that the replay right after is still fresh on a loaded machine.
  const { app } = await httpApp(t, { http: { idempotencyTtlMs: 1000 } }, store)
  const { payout } = await finalizeM1(app)
  t.equal((await approve(app, payout.id)).statusCode, 200)
  const replay = await approve(app, payout.id)
  t.equal(replay.headers['idempotent-replayed'], 'true', 'kept while fresh')
  const rows = async () => Number((await sql(`SELECT count(*) FROM "${store.schema}".idempotency_keys`)).rows[0].count)
  t.equal(await rows(), 1)
  // Real waits: the key's age is measured by the database's clock.
  const deadline = Date.now() + 10_000
  while (await rows() > 0 && Date.now() < deadline) await sleep(50)
  t.equal(await rows(), 0, 'pruned once expired')
})

t.test('memory store: the route prunes through the store once the key expired', async (t) => {
  const store = memoryStore(liveSeed()) as Store & { pruneIdempotent (ttlMs: number): Promise<PruneResult> }
  const pruned: PruneResult[] = []
  const prune = store.pruneIdempotent.bind(store)
  store.pruneIdempotent = async (ttlMs) => {
    const result = await prune(ttlMs)
    pruned.push(result)
    return result
  }
  const { app } = await httpApp(t, { http: { idempotencyTtlMs: 100 } }, store)
  const { payout } = await finalizeM1(app)
  t.equal((await approve(app, payout.id)).statusCode, 200)
  // The pruning is armed when the request starts, a moment before the key is written: a first one
  // may find it a hair too young, and comes back for it.
  await until(() => pruned.length > 0 && pruned.at(-1)!.nextExpiryMs === undefined, 3000)
  t.equal(pruned.reduce((sum, p) => sum + p.deleted, 0), 1, 'the one key')
  t.ok(pruned.length <= 2, 'and nothing left to come back for')
})
