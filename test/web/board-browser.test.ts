/**
 * The live match board in headless Chromium against the demo server: two windows see each
 * other's actions live, a cut connection recovers with the right score, and the organizer's
 * actions work from the keyboard alone.
 */
import t from 'tap'
import { demoServer, launch, openMatch, openWindow, organizerAndSpectator, scoreboard, screenshot, shows, signIn, tabTo } from './browser.js'

const browser = await launch(t)
const server = await demoServer(t)

t.test('the organizer starts, scores and finalizes through the page; the spectator\'s page shows each change', async (t) => {
  const { org, fan } = await organizerAndSpectator(t, browser, server, 'm1')
  await shows(fan, { state: 'scheduled', scores: { 'u-a': 0, 'u-b': 0 } })
  t.equal(await fan.locator('#action-forms button, #action-forms input').count(), 0, 'a spectator has no controls')
  t.match(await fan.textContent('#action-forms'), /You are watching this match/)

  await org.click('form[data-action="match.start"] button[type="submit"]')
  await shows(fan, { state: 'live' })
  t.match(await fan.textContent('#log'), /Started\s*Алиса Łódź vs Bob Ἀνδρέας is live/)

  for (const step of ['u-a:1', 'u-a:1', 'u-b:1', 'u-a:1', 'u-a:-1']) await org.click(`button[data-step="${step}"]`)
  await shows(fan, { scores: { 'u-a': 2, 'u-b': 1 } })
  await shows(org, { scores: { 'u-a': 2, 'u-b': 1 } })
  await screenshot(org, 'board-organizer-live')

  await org.click('form[data-action="match.finalize"] button[type="submit"]')
  await shows(fan, { state: 'completed', scores: { 'u-a': 2, 'u-b': 1 }, winner: 'u-a' })
  t.match(await fan.textContent('#log'), /Final\s*Алиса Łódź wins, Алиса Łódź 2 – 1 Bob Ἀνδρέας/)
  // The finalize's ack and its event travel independently: the organizer's page may show it last.
  await org.waitForFunction(() => document.querySelector('#feedback')?.textContent === 'Match finalized.', undefined, { timeout: 5000 })
  t.equal(await org.textContent('#feedback'), 'Match finalized.')
  t.match(await org.textContent('#action-forms'), /No actions while the match is final/)
  await screenshot(fan, 'board-spectator-final')

  // A participant of the match disputes it from their own window; both others see it.
  const player = (await openWindow(t, browser)).page
  await signIn(player, server.url, 'u-b')
  await openMatch(player, 'm1')
  await player.fill('#dispute-reason', 'the last point was mine')
  await player.click('form[data-action="match.dispute"] button[type="submit"]')
  await shows(fan, { state: 'disputed' })
  await shows(org, { state: 'disputed' })
  t.match(await fan.textContent('#log'), /Disputed\s*Алиса Łódź vs Bob Ἀνδρέας · Bob Ἀνδρέας: “the last point was mine”/)
  t.equal(await org.locator('form[data-action="match.finalize"]').count(), 1, 'the organizer may finalize again')

  // The board of the tournament (the spectator goes back to it) shows the match's new state.
  await fan.click('.crumbs a')
  await fan.waitForSelector('a.card[data-match="m1"][data-state="disputed"]')
  t.equal(await fan.locator('a.card[data-match="m1"] .line.won').count(), 0, 'a disputed match crowns nobody')
  await screenshot(fan, 'board-spectator-tournament')
  t.same(await scoreboard(org), { state: 'disputed', scores: { 'u-a': '2', 'u-b': '1' }, winner: null, status: 'live' })
})

t.test('the spectator\'s connection is cut: the page shows reconnecting, then live again with the right score', async (t) => {
  const { org, fan, fanContext: context } = await organizerAndSpectator(t, browser, server, 'm2')
  await org.click('form[data-action="match.start"] button[type="submit"]')
  await org.click('button[data-step="u-b:1"]')
  await shows(fan, { state: 'live', scores: { 'u-b': 1, 'u-c': 0 }, status: 'live' })

  // The network goes away (new connections fail) and the server's side of the socket is cut.
  await context.setOffline(true)
  const open = server.sockets.filter((s) => s.user === 'u-fan' && s.socket.readyState === s.socket.OPEN)
  t.equal(open.length, 1, 'one room socket for the spectator\'s window')
  for (const s of open) s.socket.terminate()
  await shows(fan, { status: 'reconnecting' })
  t.match(await fan.textContent('#status'), /Reconnecting…/)

  // The match moves on meanwhile: the spectator cannot see it yet.
  await org.click('button[data-step="u-b:1"]')
  await org.click('button[data-step="u-c:1"]')
  await shows(org, { scores: { 'u-b': 2, 'u-c': 1 } })
  t.same((await scoreboard(fan)).scores, { 'u-b': '1', 'u-c': '0' })
  await screenshot(fan, 'board-spectator-reconnecting')

  await context.setOffline(false)
  await shows(fan, { status: ['live', 'resynced'], scores: { 'u-b': 2, 'u-c': 1 } })
  t.match(await fan.textContent('#log'), /Connection lost; reconnecting…/)
  await screenshot(fan, 'board-spectator-back')
})

t.test('keyboard only: an organizer signs in, opens a match, starts, scores and finalizes it', async (t) => {
  const { page } = await openWindow(t, browser)
  await page.goto(server.url)
  await page.waitForSelector('#users button')
  await tabTo(page, '#users button[data-user="u-org"]')
  await page.keyboard.press('Enter')
  await page.waitForSelector('a.card[data-match="m3"]')
  await tabTo(page, 'a.card[data-match="m3"]')
  t.not(await page.evaluate(() => getComputedStyle(document.activeElement!).outlineStyle), 'none', 'the focused card shows it')
  await page.keyboard.press('Enter')
  await shows(page, { state: 'scheduled' })

  await tabTo(page, 'form[data-action="match.start"] button')
  await page.keyboard.press('Enter')
  await shows(page, { state: 'live' })
  t.ok(await page.evaluate(() => document.getElementById('action-forms')!.contains(document.activeElement)), 'focus stays in the actions as they change')

  await tabTo(page, 'button[data-step="u-c:1"]')
  await page.keyboard.press('Enter')
  await page.keyboard.press('Space')
  await shows(page, { scores: { 'u-a': 0, 'u-c': 2 } })

  // Finalize with the winner chosen in the form: the scores follow the live ones.
  await tabTo(page, '#final-winner')
  await page.keyboard.press('ArrowDown')
  await page.keyboard.press('ArrowDown')
  t.equal(await page.inputValue('#final-winner'), 'u-c')
  await tabTo(page, 'form[data-action="match.finalize"] button')
  await page.keyboard.press('Enter')
  await shows(page, { state: 'completed', scores: { 'u-a': 0, 'u-c': 2 }, winner: 'u-c' })
  await screenshot(page, 'board-keyboard-final')
})
