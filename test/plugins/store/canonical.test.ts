/** Request fingerprints: the canonical text is written directly, and equals the one made from a sorted copy. */
import fc from 'fast-check'
import t from 'tap'
import { canonical, canonicalJson, fingerprint } from '../../../plugins/store/idempotency.js'

t.test('canonicalJson is JSON.stringify of canonical, for any value a request or command carries', async (t) => {
  const value = fc.anything({ withNullPrototype: true, withObjectString: true, withBoxedValues: false, withDate: true })
  fc.assert(fc.property(value, (v) => canonicalJson(v) === JSON.stringify(canonical(v))), { numRuns: 2000 })
  t.equal(canonicalJson({ b: [undefined, () => 1], a: undefined, __proto__x: 1 }), '{"__proto__x":1,"b":[null,null]}')
  t.equal(canonicalJson(undefined), undefined)
})

t.test('a fingerprint does not depend on key order', async (t) => {
  t.equal(fingerprint('m1', { b: 1, a: [{ d: 1, c: 2 }] }), fingerprint('m1', { a: [{ c: 2, d: 1 }], b: 1 }))
  t.not(fingerprint('m1', { a: 1 }), fingerprint('m1', { a: 2 }))
})
