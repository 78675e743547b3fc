/**
 * A token bucket, pure: state in, state out, the clock passed in. `burst` tokens at most; refills
 * at `ratePerSecond`. Each message takes one token; with none left it is refused.
 */
export interface BucketState {
  tokens: number
  /** When `tokens` was last brought up to date (ms). */
  updatedAt: number
}

export interface TakeResult {
  allowed: boolean
  state: BucketState
  /** Whole tokens left after this take. */
  remaining: number
  /** Milliseconds until one token is available again (0 when one is). */
  resetMs: number
}

export function take (state: BucketState | undefined, now: number, ratePerSecond: number, burst: number): TakeResult {
  const elapsed = state === undefined ? 0 : Math.max(0, now - state.updatedAt)
  const refilled = state === undefined ? burst : Math.min(burst, state.tokens + (elapsed * ratePerSecond) / 1000)
  const allowed = refilled >= 1
  const tokens = allowed ? refilled - 1 : refilled
  const resetMs = tokens >= 1 ? 0 : Math.ceil(((1 - tokens) * 1000) / ratePerSecond)
  return { allowed, state: { tokens, updatedAt: now }, remaining: Math.floor(tokens), resetMs }
}
