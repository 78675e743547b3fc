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
 * of its own (the store's calls run thousands of times a second). No timer is left once no call
 * is pending.
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
      this.#arm()
      work.then((value) => {
        this.#settled(deadline)
        resolve(value)
      }, (err: unknown) => {
        this.#settled(deadline)
        reject(err)
      })
    })
  }

  #settled (deadline: Deadline): void {
    this.#pending.delete(deadline)
    if (this.#pending.size === 0) {
      clearTimeout(this.#timer)
      this.#timer = undefined
    }
  }

  #arm (): void {
    if (this.#timer !== undefined) return
    const [oldest] = this.#pending
    this.#timer = setTimeout(this.#expire, Math.max(0, oldest!.at - Date.now()))
    this.#timer.unref()
  }

  readonly #expire = (): void => {
    this.#timer = undefined
    const now = Date.now()
    for (const deadline of this.#pending) {
      if (deadline.at > now) break
      this.#pending.delete(deadline)
      deadline.expire()
    }
    if (this.#pending.size > 0) this.#arm()
  }
}
