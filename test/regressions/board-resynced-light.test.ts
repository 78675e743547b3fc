/**
 * The connection light stuck at "Live · resynced" after a resync snapshot: its timer asked for
 * "live" through the same door as the SDK's statuses, which keeps "resynced" up on purpose.
 */
import t from 'tap'
import { demoServer, launch, organizerAndSpectator, screenshot, shows } from '../web/browser.js'

t.test('a resume the server cannot replay comes back as a resync: the light says so, then live again', async (t) => {
  const browser = await launch(t)
  // No history kept: every resume is answered with a fresh snapshot marked resync.
  const forgetful = await demoServer(t, { MATCHCAST_HISTORY_SIZE: '0' })
  const { org, fan, fanContext } = await organizerAndSpectator(t, browser, forgetful, 'm3')
  await org.click('form[data-action="match.start"] button[type="submit"]')
  await shows(fan, { state: 'live' })

  await fanContext.setOffline(true)
  for (const s of forgetful.sockets.filter((s) => s.user === 'u-fan')) s.socket.terminate()
  await shows(fan, { status: 'reconnecting' })
  await org.click('button[data-step="u-a:1"]')
  await shows(org, { scores: { 'u-a': 1, 'u-c': 0 } })

  await fanContext.setOffline(false)
  await shows(fan, { status: 'resynced', scores: { 'u-a': 1, 'u-c': 0 } })
  t.match(await fan.textContent('#status'), /Live · resynced/)
  t.match(await fan.textContent('#log'), /Resynced: the server sent a fresh state/)
  await screenshot(fan, 'board-spectator-resynced')
  // "Resynced" is a while, not a state: the light goes back to live by itself.
  await fan.waitForFunction(() => document.getElementById('status')!.dataset.status === 'live', undefined, { timeout: 8000 })
})
