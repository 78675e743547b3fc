/** How a certificate's facts read, the same on the PDF and on the verification page. */
import type { Certificate } from '../../schemas/common.js'

/**
 * Made by the first date printed, not at start: the first `Intl.DateTimeFormat` of a process loads
 * ICU's locale and calendar data, several MiB that a process which prints no certificate never needs.
 */
let dateFormat: Intl.DateTimeFormat | undefined

/** A timestamp as a reader says it: `1 March 2025` (UTC). */
export function readableDate (iso: string): string {
  dateFormat ??= new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' })
  return dateFormat.format(new Date(iso))
}

/** A user's display name on the certificate (own keys only: ids may be spelled `__proto__`), else the id. */
export function nameOf (certificate: Pick<Certificate, 'names'>, userId: string): string {
  const names = certificate.names
  return names !== undefined && Object.hasOwn(names, userId) ? names[userId]! : userId
}

type Result = Pick<Certificate, 'userId' | 'scores' | 'names'>

/**
 * The participants (those with a score or a name), winner first, then by score (highest first),
 * each with their score (0 when the final scores leave them out).
 */
export function standings (certificate: Result): Array<{ userId: string, score: number }> {
  const { scores, names = {}, userId: winner } = certificate
  return [...new Set([...Object.keys(scores), ...Object.keys(names)])]
    .map((userId) => ({ userId, score: Object.hasOwn(scores, userId) ? scores[userId]! : 0 }))
    .sort((a, b) => Number(b.userId === winner) - Number(a.userId === winner) || b.score - a.score)
}

/** `Алиса 3 – 1 Bob` for two participants, `Алиса 3 · Bob 1 · Carol 0` for more; `name` names each. */
export function scoreLine (certificate: Result, name: (userId: string) => string): string {
  const rows = standings(certificate)
  if (rows.length === 2) return `${name(rows[0]!.userId)}   ${rows[0]!.score} – ${rows[1]!.score}   ${name(rows[1]!.userId)}`
  return rows.map((r) => `${name(r.userId)} ${r.score}`).join('  ·  ')
}
