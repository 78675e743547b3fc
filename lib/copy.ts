/**
 * A deep copy of a JSON value (plain objects, arrays, strings, numbers, booleans, null; `undefined`
 * kept as a property value). What the memory store hands out and keeps, so that callers never
 * share objects with it. About ten times cheaper than `structuredClone` for the small records of a
 * match, which it copies on every command. Own keys spelled like built-ins (`__proto__`, from user
 * ids in scores) stay own data properties.
 */
export function copyJson<T> (value: T): T {
  if (typeof value !== 'object' || value === null) return value
  if (Array.isArray(value)) return value.map(copyJson) as T
  const out: Record<string, unknown> = {}
  for (const key of Object.keys(value)) {
    const item = copyJson((value as Record<string, unknown>)[key])
    if (key === '__proto__') Object.defineProperty(out, key, { value: item, enumerable: true, writable: true, configurable: true })
    else out[key] = item
  }
  return out as T
}
