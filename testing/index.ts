/**
 * `matchcast/testing`: what a host's own tests use. The conformance suites of the Store, Broker and
 * LimiterStore contracts (run one against your own implementation: `storeSuite(t, factory)`), and
 * `Client`, a real `ws` client of a room that awaits frames one by one and checks each against the
 * protocol's schema. The suites take tap's `t` as it is (see `TestLike`).
 */
export { storeSuite, conformanceSeed, type StoreFactory } from './store-suite.js'
export { brokerSuite, type BrokerFactory, type BrokerSetup } from './broker-suite.js'
export { limiterStoreSuite } from './limiter-store-suite.js'
export { Client, WAIT_MS, type Closed } from './room-client.js'
export type { TestLike } from './test-like.js'
