/**
 * `work`, or a rejection with `onTimeout()` after `ms`, whichever settles first. The timer never
 * outlives the call and never holds the process open.
 */
export async function within<T> (ms: number, work: Promise<T>, onTimeout: () => Error = () => new Error(`no answer within ${ms} ms`)): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms)
    timer.unref()
  })
  try {
    return await Promise.race([work, timeout])
  } finally {
    clearTimeout(timer)
  }
}

interface Deadline {
  at: number
  expire (): void
}

/**
 * Bounds many calls by the same `ms` with one timer. Deadlines come in the order the calls
 * started, so the timer waits for the oldest pending call only; a call costs no timer and no race
 * of its own (the store's calls run thousands of times a second). The timer is not stopped when
 * the last pending call settles, which would mean a new timer for nearly every call: it runs out
 * at most `ms` later, finds nothing due and stays off until the next call. It never holds the
 * process open; `clear()` stops it at once (on close).
 */
export class Deadlines {
  readonly #ms: number
  /** Pending calls, oldest first. */
  readonly #pending = new Set<Deadline>()
  #timer: NodeJS.Timeout | undefined

  constructor (ms: number) {
    this.#ms = ms
  }

  /** `work`, or a rejection with `onTimeout()` once `ms` have passed, whichever comes first. */
  bound<T> (work: Promise<T>, onTimeout: () => Error): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const deadline: Deadline = { at: Date.now() + this.#ms, expire: () => reject(onTimeout()) }
      this.#pending.add(deadline)
      this.#timer ??= this.#arm(this.#ms)
      work.then((value) => {
        this.#pending.delete(deadline)
        resolve(value)
      }, (err: unknown) => {
        this.#pending.delete(deadline)
        reject(err)
      })
    })
  }

  /** Whether the timer is on (tests). */
  get armed (): boolean { return this.#timer !== undefined }

  /** Stops the timer; a call still pending is then no longer bounded (used on close). */
  clear (): void {
    clearTimeout(this.#timer)
    this.#timer = undefined
  }

  #arm (ms: number): NodeJS.Timeout {
    const timer = setTimeout(this.#expire, ms)
    timer.unref()
    return timer
  }

  readonly #expire = (): void => {
    this.#timer = undefined
    const now = Date.now()
    for (const deadline of this.#pending) {
      if (deadline.at > now) {
        // The oldest call still pending: the timer is next due at its deadline.
        this.#timer = this.#arm(deadline.at - now)
        return
      }
      this.#pending.delete(deadline)
      deadline.expire()
    }
  }
}
