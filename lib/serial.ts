/**
 * Work run one at a time per key, in call order; keys run independently. A key with nothing
 * queued (the usual case) starts its work at once, not a turn of the event loop later. A failed
 * step does not stop the ones after it (its caller has the rejection). A key whose queue drained
 * holds no memory.
 */
export class SerialByKey {
  readonly #chains = new Map<string, Promise<unknown>>()

  /** Runs `work` (an async function) after the key's earlier work has settled. */
  run<T> (key: string, work: () => Promise<T>): Promise<T> {
    const previous = this.#chains.get(key)
    const next = previous === undefined ? work() : previous.catch(() => {}).then(work)
    this.#chains.set(key, next)
    const forget = () => { if (this.#chains.get(key) === next) this.#chains.delete(key) }
    next.then(forget, forget)
    return next
  }

  /** Resolves once the work queued so far has settled, whatever its outcome. */
  async settled (): Promise<void> {
    await Promise.allSettled([...this.#chains.values()])
  }
}
