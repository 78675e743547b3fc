/**
 * Rapid −1/+1 clicks on the board lost points: once a click's ack came back, the next click
 * counted from the room's state, which still lacked the click's event (the ack and the event
 * travel apart, and the batch window holds events back). Quick clicks ended at 1–1, not 3–2.
 */
import t from 'tap'
import { act, demoServer, launch, organizerAndSpectator, shows } from '../web/browser.js'

t.test('every click of a quick run counts, on the clicking page, another page and the server', async (t) => {
  const browser = await launch(t)
  // A batch window long enough that each click's ack surely comes back before its event.
  const server = await demoServer(t, { MATCHCAST_BATCH_WINDOW_MS: '400' })
  const { org, fan } = await organizerAndSpectator(t, browser, server, 'm1')
  await org.click('form[data-action="match.start"] button[type="submit"]')
  await shows(org, { state: 'live' })

  for (const step of ['u-a:1', 'u-a:1', 'u-b:1', 'u-a:1', 'u-b:1', 'u-b:1', 'u-b:-1']) {
    // Each click waits for its ack (the page says so) before the next.
    await act(org, `button[data-step="${step}"]`, 'Score sent.')
  }
  await shows(fan, { scores: { 'u-a': 3, 'u-b': 2 } })
  await shows(org, { scores: { 'u-a': 3, 'u-b': 2 } })
  t.same((await server.app.matchcast.store.getMatch('m1'))?.scores, { 'u-a': 3, 'u-b': 2 })
})
