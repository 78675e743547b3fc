import t from 'tap'
import { lazy } from '../../lib/lazy.js'

t.test('nothing is loaded until the first call; later calls get the same value', async (t) => {
  let loads = 0
  const get = lazy(async () => ({ n: ++loads }))
  t.equal(loads, 0)
  const first = await get()
  t.same(first, { n: 1 })
  t.equal(await get(), first)
  t.equal(loads, 1)
})

t.test('calls at the same time share one load', async (t) => {
  let loads = 0
  const get = lazy(async () => ++loads)
  t.same(await Promise.all([get(), get(), get()]), [1, 1, 1])
})

t.test('a failed load is not kept: it fails its callers, and the next call tries again', async (t) => {
  let loads = 0
  const get = lazy(async () => {
    if (++loads === 1) throw new Error('Cannot find package \'x\'')
    return 'loaded'
  })
  const [a, b] = await Promise.allSettled([get(), get()])
  t.match(a, { status: 'rejected', reason: { message: /Cannot find package 'x'/ } })
  t.match(b, { status: 'rejected', reason: { message: /Cannot find package 'x'/ } }, 'a caller that waited on it sees the same error')
  t.equal(await get(), 'loaded')
  t.equal(loads, 2)
})
