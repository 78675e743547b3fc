/**
 * Headless Chromium (Debian's, driven by playwright-core) against the demo server: one browser
 * per test file, a fresh profile per context, screenshots kept under `.artifacts/`.
 */
import { existsSync, mkdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { FastifyInstance } from 'fastify'
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core'
import type { WebSocket } from 'ws'
import { createServer, loadConfig } from '../../server.js'
import type { TapLike } from '../helper.js'

export const CHROMIUM = '/usr/bin/chromium'
export const ARTIFACTS = fileURLToPath(new URL('../../.artifacts/', import.meta.url))
/** Bounded wait for anything the page should show. */
export const PAGE_WAIT_MS = 5000

/** Launches Chromium for the file: no network of its own, no GPU, a fresh temporary profile. */
export async function launch (t: TapLike): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install chromium (.ci/run installs it)`)
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // launch() gives every run a fresh temporary profile (user-data dir) and removes it on close.
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic']
  })
  t.teardown(() => browser.close())
  return browser
}

/** A new window (its own storage) of `size`, failing its waits after `PAGE_WAIT_MS`; page errors fail the test. */
export async function openWindow (t: TapLike & { fail (message: string): void }, browser: Browser, size = { width: 1440, height: 900 }): Promise<{ context: BrowserContext, page: Page }> {
  const context = await browser.newContext({ viewport: size })
  t.teardown(() => context.close())
  context.setDefaultTimeout(PAGE_WAIT_MS)
  const page = await context.newPage()
  page.on('pageerror', (err) => t.fail(`page error: ${err.message}`))
  return { context, page }
}

export async function screenshot (page: Page, name: string): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true })
  await page.screenshot({ path: `${ARTIFACTS}${name}.png`, fullPage: true })
}

export interface DemoServer {
  app: FastifyInstance
  url: string
  /** The server side of every room socket opened so far, by user. */
  sockets: Array<{ user: string, socket: WebSocket }>
}

/** The demo server (`npm start`'s app) on a free port, with its room sockets tracked by user. */
export async function demoServer (t: TapLike, env: Record<string, string> = {}): Promise<DemoServer> {
  const app = await createServer(loadConfig({ PORT: '0', MATCHCAST_LOG_LEVEL: 'silent', MATCHCAST_BATCH_WINDOW_MS: '5', ...env }))
  t.teardown(() => app.close())
  const sockets: DemoServer['sockets'] = []
  app.websocketServer.on('connection', (socket: WebSocket, request: { headers: Record<string, string | string[] | undefined> }) => {
    const offered = String(request.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim())
    const bearer = offered.find((p) => p.startsWith('bearer.'))
    sockets.push({ user: bearer === undefined ? '' : app.jwt.decode<{ sub: string }>(bearer.slice('bearer.'.length))!.sub, socket })
  })
  const url = await app.listen({ port: 0, host: '127.0.0.1' })
  return { app, url: `${url}/`, sockets }
}

/** Signs in through the page's user list and waits for the board's cards. */
export async function signIn (page: Page, url: string, userId: string): Promise<void> {
  await page.goto(url)
  await page.click(`#users button[data-user="${userId}"]`)
  await page.waitForSelector('#board:not([hidden]) .card')
}

/** Opens a match from the board and waits for its scoreboard. */
export async function openMatch (page: Page, matchId: string): Promise<void> {
  await page.click(`a.card[data-match="${matchId}"]`)
  await page.waitForSelector('#match:not([hidden]) #match-state[data-state]')
}

/** An organizer's window and a spectator's window, signed in and both on match `matchId`, the spectator's live. */
export async function organizerAndSpectator (t: TapLike & { fail (message: string): void }, browser: Browser, server: DemoServer, matchId: string):
Promise<{ org: Page, fan: Page, fanContext: BrowserContext }> {
  const org = (await openWindow(t, browser)).page
  const { context: fanContext, page: fan } = await openWindow(t, browser)
  await signIn(org, server.url, 'u-org')
  await signIn(fan, server.url, 'u-fan')
  await openMatch(org, matchId)
  await openMatch(fan, matchId)
  await shows(fan, { status: 'live' })
  return { org, fan, fanContext }
}

/** What the match view shows: state, each side's score, the winner mark, the connection light. */
export async function scoreboard (page: Page): Promise<{ state: string, scores: Record<string, string>, winner: string | null, status: string }> {
  return await page.evaluate(() => ({
    state: document.getElementById('match-state')!.dataset.state!,
    scores: Object.fromEntries([...document.querySelectorAll<HTMLElement>('#versus .side')].map((s) => [s.dataset.player!, s.querySelector('.pts')!.textContent!])),
    winner: document.querySelector<HTMLElement>('#versus .side.won')?.dataset.player ?? null,
    status: document.getElementById('status')!.dataset.status!
  }))
}

/** Waits until the match view shows `expected` (a subset of `scoreboard()`). */
export async function shows (page: Page, expected: { state?: string, scores?: Record<string, number>, winner?: string, status?: string | string[] }): Promise<void> {
  await page.waitForFunction((want) => {
    const state = document.getElementById('match-state')?.dataset.state
    const status = document.getElementById('status')?.dataset.status ?? ''
    const score = (p: string): string | null | undefined => document.querySelector(`#versus .side[data-player="${p}"] .pts`)?.textContent
    const winner = document.querySelector<HTMLElement>('#versus .side.won')?.dataset.player
    return (want.state === undefined || state === want.state) &&
      (want.winner === undefined || winner === want.winner) &&
      (want.status === undefined || [want.status].flat().includes(status)) &&
      Object.entries(want.scores ?? {}).every(([p, n]) => score(p) === String(n))
  }, expected)
}

/** Clicks an action and waits until the page reports the server's answer (`expected`) in its feedback line. */
export async function act (page: Page, selector: string, expected: string): Promise<void> {
  await page.evaluate(() => { document.getElementById('feedback')!.textContent = '' })
  await page.click(selector)
  await page.waitForFunction((text) => document.getElementById('feedback')!.textContent === text, expected)
}

/** Presses Tab until the focused element matches `selector` (at most `max` presses); fails otherwise. */
export async function tabTo (page: Page, selector: string, max = 40): Promise<void> {
  for (let i = 0; i < max; i++) {
    if (await page.evaluate((s) => document.activeElement?.matches(s) === true, selector)) return
    await page.keyboard.press('Tab')
  }
  throw new Error(`Tab never reached ${selector}`)
}
