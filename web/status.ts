/**
 * The connection indicator: the open room's status (connecting, live, reconnecting, closed), and
 * "resynced" for a while after the server replaced the state with a fresh snapshot. Each change
 * worth knowing is also told to the event log.
 */
import type { MatchcastError } from '../client/index.js'

export type Light = 'idle' | 'connecting' | 'live' | 'reconnecting' | 'resynced' | 'closed'

const LABELS: Readonly<Record<Light, string>> = {
  idle: 'Not connected',
  connecting: 'Connecting…',
  live: 'Live',
  reconnecting: 'Reconnecting…',
  resynced: 'Live · resynced',
  closed: 'Disconnected'
}

/** How long "resynced" stays up before the light says "live" again. */
const RESYNCED_MS = 5000

/** What a failed command or a stopped room means to the person looking at the board. */
export const ERROR_TEXT: Readonly<Record<string, string>> = {
  forbidden: 'Your role may not do that.',
  invalid_state: 'Not possible in the match’s current state.',
  conflict: 'Someone else changed the match first. Look again and retry.',
  invalid_message: 'That input was refused. Check the values.',
  internal: 'The server failed; nothing was changed. Try again.',
  unauthorized: 'Your sign-in was refused. Sign in again.',
  not_found: 'This match or tournament does not exist.',
  too_many_connections: 'Too many open windows for this user. Close one and reload.',
  payload_too_large: 'That was too large to send.'
}

export class StatusLight {
  readonly #el: HTMLElement
  readonly #tell: (text: string) => void
  #light: Light = 'idle'
  #timer: ReturnType<typeof setTimeout> | undefined

  constructor (el: HTMLElement, tell: (text: string) => void) {
    this.#el = el
    this.#tell = tell
  }

  /** The room's status (or the page's own: idle, connecting). */
  set (next: Light, detail?: string): void {
    // "Resynced" is a kind of live: it stays up for its while.
    if (next === 'live' && this.#light === 'resynced') return
    this.#show(next, detail)
  }

  #show (next: Light, detail?: string): void {
    const previous = this.#light
    if (next === previous && detail === undefined) return
    clearTimeout(this.#timer)
    this.#light = next
    this.#el.dataset.status = next
    this.#el.querySelector('.label')!.textContent = detail === undefined ? LABELS[next] : `${LABELS[next]}: ${detail}`
    if (next === 'reconnecting' && previous !== 'reconnecting') this.#tell('Connection lost; reconnecting…')
    if (next === 'live' && previous === 'reconnecting') this.#tell('Reconnected')
  }

  /** A resync snapshot replaced the state: say so for a while. */
  resynced (): void {
    this.#show('resynced')
    this.#tell('Resynced: the server sent a fresh state')
    this.#timer = setTimeout(() => { if (this.#light === 'resynced') this.#show('live') }, RESYNCED_MS)
  }

  /** The room stopped for good. */
  failed (err: MatchcastError): void {
    this.set('closed', ERROR_TEXT[err.code] ?? err.message)
    this.#tell(`Stopped: ${ERROR_TEXT[err.code] ?? err.message}`)
  }
}
