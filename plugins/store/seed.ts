/** The seed of a store (the demo seed JSON shape): checked once, the same way for every store. */
import { Value } from 'typebox/value'
import { InvalidOptionsError } from '../../lib/errors.js'
import { Seed, type Match } from '../../schemas/common.js'

/** Checks a seed and fills its defaults; a bad one throws `MATCHCAST_ERR_INVALID_OPTS` naming the field. */
export function parseSeed (seed: Partial<Seed>): Seed {
  const full = Value.Default(Seed, structuredClone(seed))
  if (!Value.Check(Seed, full)) {
    const [first] = Value.Errors(Seed, full)
    throw new InvalidOptionsError(`store seed${first!.instancePath}: ${first!.message}`)
  }
  return full as Seed
}

/** A seeded match as the store holds it at first: scheduled, zero scores and no winner unless the seed says otherwise. */
export function seededMatch (m: Seed['matches'][number]): Match {
  return {
    ...m,
    state: m.state ?? 'scheduled',
    scores: m.scores ?? Object.fromEntries(m.participants.map((p) => [p, 0])),
    winnerId: m.winnerId ?? null,
    version: 0
  }
}
