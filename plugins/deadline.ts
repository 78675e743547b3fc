/**
 * Settles like `work`, or rejects with `onTimeout()` once `ms` have passed, whichever comes
 * first; the timer never outlives the call. `work` itself keeps running: whoever cares about its
 * late outcome keeps the promise.
 */
export async function deadline<T> (work: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms)
  })
  try {
    return await Promise.race([work, timeout])
  } finally {
    clearTimeout(timer)
  }
}
