/** `connect()`'s options: what a caller may pass, the defaults, and their validation. */
import { DEFAULT_BACKOFF, type BackoffOptions } from './backoff.js'
import { MatchcastError } from './errors.js'

/**
 * What the SDK needs of a WebSocket: the browser's, or the `ws` package's on Node. Handlers are
 * typed loosely (`never`) so both classes fit; the SDK reads `data`, `code` and `reason`.
 */
export interface WebSocketLike {
  send (data: string): void
  close (code?: number, reason?: string): void
  onopen: ((event: never) => void) | null
  onmessage: ((event: never) => void) | null
  onclose: ((event: never) => void) | null
  onerror: ((event: never) => void) | null
}

/** A WebSocket class: `new WebSocket(url, protocols)`. */
export type WebSocketConstructor = new (url: string, protocols: string[]) => WebSocketLike

export interface ConnectOptions {
  /** Base URL of the API (`wss://`, `ws://`, `https://` or `http://`); rooms are under `/ws/…` below it. */
  url: string
  /** A fresh JWT: called before each connect and reconnect (so after a 4001 too). */
  token: () => string | Promise<string>
  /** The WebSocket class. @default globalThis.WebSocket (pass the `ws` package's on Node 20) */
  WebSocket?: WebSocketConstructor
  /** Reconnect delays (exponential, full jitter). @default { minMs: 500, maxMs: 20000, factor: 2 } */
  backoff?: Partial<BackoffOptions>
  /** A `ping` is sent this often on a live socket; 0 sends none (and never times out). @default 20000 */
  pingIntervalMs?: number
  /** A socket that sends nothing this long after a `ping` is dead: dropped and resumed. @default 10000 */
  pongTimeoutMs?: number
  /**
   * How long after its first send a command whose reply was lost is still sent again; older ones are
   * rejected `expired`. Keep it at most the server's `commandIdTtlMs`. @default 300000
   */
  commandIdTtlMs?: number
}

export interface ResolvedOptions {
  /** The base URL, as `ws:`/`wss:`, without a trailing slash. */
  base: string
  token: () => string | Promise<string>
  WebSocket: WebSocketConstructor
  backoff: BackoffOptions
  pingIntervalMs: number
  pongTimeoutMs: number
  commandIdTtlMs: number
}

/** URL scheme → WebSocket scheme. */
const SCHEMES = new Map([['ws:', 'ws:'], ['http:', 'ws:'], ['wss:', 'wss:'], ['https:', 'wss:']])

function invalid (message: string): MatchcastError {
  return new MatchcastError('invalid_options', message)
}

function count (name: string, value: number | undefined, fallback: number, min = 0): number {
  const n = value ?? fallback
  if (typeof n !== 'number' || !Number.isFinite(n) || n < min) throw invalid(`${name}: must be a number >= ${min}`)
  return n
}

/** Applies the defaults and checks every option; throws `MatchcastError('invalid_options')` naming the first bad one. */
export function resolveOptions (options: ConnectOptions): ResolvedOptions {
  let url: URL
  try {
    url = new URL(options.url)
  } catch {
    throw invalid('url: must be an absolute URL')
  }
  const scheme = SCHEMES.get(url.protocol)
  if (scheme === undefined) throw invalid('url: must be a ws:, wss:, http: or https: URL')
  if (url.search !== '' || url.hash !== '') throw invalid('url: must have no query or fragment (the token never goes in the URL)')
  if (typeof options.token !== 'function') throw invalid('token: must be a function returning the JWT')
  const WebSocket = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket
  if (typeof WebSocket !== 'function') throw invalid('WebSocket: there is no global WebSocket here; pass one (on Node 20, the ws package)')
  const minMs = count('backoff.minMs', options.backoff?.minMs, DEFAULT_BACKOFF.minMs, 1)
  const backoff = {
    minMs,
    maxMs: count('backoff.maxMs', options.backoff?.maxMs, Math.max(DEFAULT_BACKOFF.maxMs, minMs), minMs),
    factor: count('backoff.factor', options.backoff?.factor, DEFAULT_BACKOFF.factor, 1)
  }
  return {
    base: `${scheme}//${url.host}${url.pathname.replace(/\/+$/, '')}`,
    token: options.token,
    WebSocket,
    backoff,
    pingIntervalMs: count('pingIntervalMs', options.pingIntervalMs, 20_000),
    pongTimeoutMs: count('pongTimeoutMs', options.pongTimeoutMs, 10_000, 1),
    commandIdTtlMs: count('commandIdTtlMs', options.commandIdTtlMs, 300_000)
  }
}
