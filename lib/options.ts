import type { Static, TSchema } from 'typebox'
import { Value } from 'typebox/value'
import { InvalidOptionsError } from './errors.js'

/**
 * Applies the schema's defaults to `options`, then checks them. A failure throws
 * `MATCHCAST_ERR_INVALID_OPTS` naming the first bad option as `<prefix>.<path>`.
 * Invalid values are never swapped for defaults.
 */
export function parseOptions<T extends TSchema> (schema: T, options: unknown, prefix: string): Static<T> {
  const withDefaults = Value.Default(schema, structuredCloneSafe(options))
  if (Value.Check(schema, withDefaults)) return withDefaults as Static<T>
  const [first] = Value.Errors(schema, withDefaults)
  const path = first!.instancePath.split('/').filter(Boolean).join('.')
  // typebox reports a property that `additionalProperties: false` forbids as "schema is false".
  const message = first!.keyword === 'boolean' ? 'unknown option' : first!.message
  throw new InvalidOptionsError(`${[prefix, path].filter(Boolean).join('.')}: ${message}`)
}

/** Clones plain data so defaults never write into the caller's object; keeps class instances (clients, stores) as they are. */
function structuredCloneSafe (value: unknown): unknown {
  if (Array.isArray(value)) return value.map(structuredCloneSafe)
  if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, structuredCloneSafe(v)]))
  }
  return value
}

/** What a caller passes for options of type `T`: every field optional, one level of nesting deep. */
export type OptionsInput<T> = {
  [K in keyof T]?: T[K] extends readonly unknown[] ? T[K] : T[K] extends object ? Partial<T[K]> : T[K]
}
