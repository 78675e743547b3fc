/** Chaos on one instance: see chaos.ts. */
import t from 'tap'
import { startApp } from '../helper.js'
import { CHAOS_OPTIONS, chaos } from './chaos.js'

t.test('cut at random points while 1,000 events flow: exactly the server sequence, every command once', async (t) => {
  await chaos(t, [await startApp(t, CHAOS_OPTIONS)])
})
