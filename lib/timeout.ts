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
