/**
 * The short code of a certificate: the first 60 bits of its Ed25519 signature in Crockford base32,
 * grouped by four (`7K3M-Q9XD-2HWP`). Twelve symbols a person can read out or type: no I, L, O or
 * U, case does not matter. It is bound to the signature (a function of it), so a store can find a
 * certificate by it; being only a lookup key, it proves nothing by itself: verification always
 * checks the whole signature of the certificate it names.
 */

/** Crockford's base32 alphabet: digits and letters without I, L, O, U. */
const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'
const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
const SYMBOL = '[0-9A-HJKMNP-TV-Z]'
const SHORT_CODE = new RegExp(`^(${SYMBOL}{4})-?(${SYMBOL}{4})-?(${SYMBOL}{4})$`)

/** A full code as issued: 64 signature bytes in canonical base64url, no padding (86 characters). */
export const FULL_CODE = /^[A-Za-z0-9_-]{86}$/

/** The short code of a full code: its first 60 bits (its first ten base64url characters). */
export function shortCodeOf (code: string): string {
  let bits = 0n
  for (const c of code.slice(0, 10).padEnd(10, 'A')) bits = (bits << 6n) | BigInt(Math.max(0, BASE64URL.indexOf(c)))
  let symbols = ''
  for (let i = 11; i >= 0; i--) symbols += CROCKFORD[Number((bits >> BigInt(i * 5)) & 31n)]
  return `${symbols.slice(0, 4)}-${symbols.slice(4, 8)}-${symbols.slice(8)}`
}

/**
 * The first ten base64url characters of every full code whose short code is `shortCode`: how a
 * store that does not keep short codes finds a certificate by one (`code LIKE prefix%`).
 */
export function codePrefixOf (shortCode: string): string {
  let bits = 0n
  for (const c of shortCode.replaceAll('-', '')) bits = (bits << 5n) | BigInt(CROCKFORD.indexOf(c))
  let prefix = ''
  for (let i = 9; i >= 0; i--) prefix += BASE64URL[Number((bits >> BigInt(i * 6)) & 63n)]
  return prefix
}

/**
 * A short code as a person may type it, in its canonical form, or `undefined` when it is not one.
 * As Crockford's encoding intends: case does not matter, `I` and `L` read as `1`, `O` as `0`, and
 * the hyphens between the groups are optional. Anything else (a symbol more or less, `U`, other
 * separators) is not a short code.
 */
export function parseShortCode (input: string): string | undefined {
  const match = SHORT_CODE.exec(input.toUpperCase().replace(/[IL]/g, '1').replaceAll('O', '0'))
  return match === null ? undefined : `${match[1]}-${match[2]}-${match[3]}`
}
