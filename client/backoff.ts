/** Reconnect delays: exponential back-off with full jitter, bounded. */

export interface BackoffOptions {
  /** The shortest delay before a reconnect (at least 1). @default 500 */
  minMs: number
  /** The longest delay before a reconnect. @default 20000 */
  maxMs: number
  /** How much the window grows with each failed attempt (at least 1). @default 2 */
  factor: number
}

export const DEFAULT_BACKOFF: BackoffOptions = { minMs: 500, maxMs: 20_000, factor: 2 }

/**
 * The delay before reconnect attempt `attempt` (0 for the first after a drop): drawn uniformly
 * between `minMs` and a cap that grows by `factor` each attempt, up to `maxMs` (full jitter, so a
 * crowd of clients dropped together comes back spread out). `attempt: Infinity` draws over the
 * whole window (after 4009).
 */
export function backoffDelay ({ minMs, maxMs, factor }: BackoffOptions, attempt: number, random: () => number = Math.random): number {
  const cap = Math.min(maxMs, minMs * factor ** Math.min(attempt + 1, 64))
  return minMs + random() * (cap - minMs)
}
