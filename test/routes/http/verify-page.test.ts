/**
 * The verification page in a real browser (headless Chromium): what a winner's friend sees after
 * scanning the QR code, on a phone and on a desktop. Screenshots are kept under `.artifacts/`.
 */
import { chromium, type Browser } from 'playwright-core'
import t from 'tap'
import { memoryStore } from '../../../plugins/store/memory-store.js'
import { ARTIFACTS } from '../../pdf.js'
import { bearer, finalizeM1, httpApp, liveSeed } from './setup.js'

let browser: Browser
t.before(async () => {
  // Playwright gives each launch a fresh, empty profile of its own.
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']
  })
})
t.teardown(() => browser.close())

t.test('a phone that followed the QR code sees who won what and when, and can reach the public key', async (t) => {
  const seed = liveSeed()
  seed.tournaments[0]!.name = 'Кубок Весны — Łódź Open 🏆'
  seed.users = [{ id: 'u-a', name: 'Алиса Łódź' }, { id: 'u-b', name: 'Bob Ελληνικά' }]
  const { app, wsUrl } = await httpApp(t, { certificates: { issuer: 'Spring League' } }, memoryStore(seed))
  const base = wsUrl.replace('ws:', 'http:')
  const { certificate } = await finalizeM1(app)
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2 })
  t.teardown(() => context.close())
  const page = await context.newPage()
  const problems: string[] = []
  page.on('console', (m) => { if (m.type() === 'error') problems.push(m.text()) })
  page.on('requestfailed', (r) => problems.push(`${r.url()} failed`))

  const res = await page.goto(`${base}/certificates/verify/${certificate.shortCode}`)
  t.equal(res!.status(), 200)
  t.equal(await page.title(), 'Valid certificate — Алиса Łódź')
  const text = await page.locator('main').innerText()
  t.match(text, 'Valid certificate')
  t.match(text, 'Алиса Łódź')
  t.match(text, 'won match m1 of Кубок Весны — Łódź Open 🏆')
  t.match(text, /FINAL SCORE\s+Алиса Łódź 3 – 1 Bob Ελληνικά/i)
  t.match(text, /ISSUED BY\s+Spring League/i)
  t.match(text, certificate.shortCode)
  // Runs in the page, where `document` and `window` exist (this project's types have no DOM).
  const fits = 'document.documentElement.scrollWidth <= window.innerWidth'
  t.ok(await page.evaluate(fits), 'nothing scrolls sideways on a phone')
  await page.screenshot({ path: `${ARTIFACTS}verify-valid-phone.png`, fullPage: true })
  t.same(problems, [], 'no console error, no failed request (the page loads nothing else, not even a favicon)')

  await page.getByRole('link', { name: 'public key' }).click()
  t.match(await page.locator('body').innerText(), 'BEGIN PUBLIC KEY', 'the key link leads to the key')

  await app.matchcast.matches.execute('m1', { userId: 'u-b', role: 'participant' }, { type: 'match.dispute', reason: 'recount' })
  await app.inject({ method: 'POST', url: '/matches/m1/finalize', headers: bearer('u-org'), payload: { scores: { 'u-a': 1, 'u-b': 3 } } })
  await page.goto(`${base}/certificates/verify/${certificate.shortCode.toLowerCase()}`)
  t.match(await page.locator('main').innerText(), /Revoked certificate[\s\S]*This certificate was revoked on/)
  await page.screenshot({ path: `${ARTIFACTS}verify-revoked-phone.png`, fullPage: true })
})

t.test('a desktop browser with a mistyped code is told plainly that it is not a valid certificate', async (t) => {
  const { app, wsUrl } = await httpApp(t)
  await finalizeM1(app)
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } })
  t.teardown(() => context.close())
  const page = await context.newPage()
  await page.goto(`${wsUrl.replace('ws:', 'http:')}/certificates/verify/7K3M-Q9XD-2HWP`)
  t.equal(await page.title(), 'Not a valid certificate')
  t.match(await page.getByRole('heading', { level: 1 }).innerText(), 'Not a valid certificate')
  t.match(await page.locator('main').innerText(), 'No certificate issued here has the code 7K3M-Q9XD-2HWP.')
  await page.screenshot({ path: `${ARTIFACTS}verify-invalid-desktop.png` })
})
