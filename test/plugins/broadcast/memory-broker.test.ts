import t from 'tap'
import { LocalSubscribers } from '../../../plugins/broadcast/broker.js'
import { MemoryBroker } from '../../../plugins/broadcast/memory-broker.js'
import { brokerSuite } from '../../../testing/broker-suite.js'

t.test('MemoryBroker conforms to the broker contract', async (t) => {
  brokerSuite(t, async (t, setup) => {
    const broker = new MemoryBroker(setup, setup.now)
    t.teardown(() => broker.close())
    return broker
  })
})

t.test('LocalSubscribers: a resync reaches the subscribers that asked for it; a match without any is a no-op', async (t) => {
  const local = new LocalSubscribers()
  let resyncs = 0
  local.add('m1', () => {}, () => resyncs++)
  local.add('m1', () => {})
  local.resync('m1')
  local.resync('m2')
  local.deliver('m2', [])
  t.equal(resyncs, 1)
})
