/**
 * What only some routes need (the PDF renderer, the PostgreSQL driver) is loaded when first asked
 * for, not at start: a process that never renders a certificate never holds PDFKit and its fonts.
 */

/**
 * `load()` run on the first call, and its result kept for every later one. Callers at the same
 * time share one load. A load that failed is not kept: the next call tries again (and fails with
 * the same error while the cause lasts, e.g. a missing package).
 */
export function lazy<T> (load: () => Promise<T>): () => Promise<T> {
  let loading: Promise<T> | undefined
  return () => {
    if (loading === undefined) {
      loading = load()
      loading.catch(() => { loading = undefined })
    }
    return loading
  }
}
