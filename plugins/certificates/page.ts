/**
 * The verification page: what a person who scanned a certificate's QR code (or typed its code)
 * sees. One small HTML document, no script, no external resource; every value from the
 * certificate is escaped.
 */
import type { Certificate } from '../../schemas/common.js'
import type { CertificateStatus } from './index.js'
import { nameOf, readableDate, scoreLine } from './format.js'

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }
const escape = (text: string) => text.replace(/[&<>"']/g, (c) => ESCAPES[c]!)

export interface PageOptions {
  /** The code as it was asked about. */
  code: string
  /** Where the public key is published (relative or absolute URL). */
  keyUrl: string
}

const STYLE = `
:root { color-scheme: light; --ink: #1f2a44; --muted: #5b6270; --gold: #a8844f; --paper: #fbf8f1 }
* { box-sizing: border-box }
body { margin: 0; min-height: 100vh; display: grid; place-items: center; padding: 24px 16px;
  background: #efe9dc; color: var(--ink); font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", sans-serif }
main { width: 100%; max-width: 560px; background: var(--paper); border: 2px solid var(--gold); outline: 1px solid var(--gold);
  outline-offset: -8px; border-radius: 4px; padding: 36px 32px 28px; box-shadow: 0 8px 24px rgb(31 42 68 / 12%) }
.status { display: inline-flex; align-items: center; gap: 8px; margin: 0 0 20px; padding: 6px 14px 6px 10px; border-radius: 999px;
  font-weight: 650; font-size: 15px }
.status svg { width: 20px; height: 20px; flex: none }
.valid { background: #e3f3e8; color: #14532d } .revoked { background: #fdecea; color: #8c1d18 } .invalid { background: #fdecea; color: #8c1d18 }
h1 { font: 700 30px/1.2 Georgia, "Noto Serif", "Times New Roman", serif; margin: 0 0 6px; overflow-wrap: anywhere }
.lead { margin: 0 0 22px; color: var(--muted); font-size: 17px }
.lead strong { color: var(--ink) }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 8px 18px; margin: 0 0 22px; font-size: 15px }
dt { color: var(--gold); font-size: 12px; letter-spacing: .08em; text-transform: uppercase; padding-top: 2px }
dd { margin: 0; overflow-wrap: anywhere }
code { font: 600 15px/1.4 ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; letter-spacing: .04em }
.note { margin: 0; padding-top: 16px; border-top: 1px solid #e4d9c2; color: var(--muted); font-size: 13px }
.note a { color: var(--ink) }
.alert { margin: 0 0 20px; padding: 12px 14px; border-left: 4px solid #b3261e; background: #fff; font-size: 15px }
`

const ICONS = {
  valid: '<svg viewBox="0 0 20 20" aria-hidden="true"><circle cx="10" cy="10" r="10" fill="#15803d"/><path d="M5.5 10.5l3 3 6-7" fill="none" stroke="#fff" stroke-width="2.2" stroke-linecap="round" stroke-linejoin="round"/></svg>',
  invalid: '<svg viewBox="0 0 20 20" aria-hidden="true"><circle cx="10" cy="10" r="10" fill="#b3261e"/><path d="M6.5 6.5l7 7m0-7l-7 7" stroke="#fff" stroke-width="2.2" stroke-linecap="round"/></svg>'
}

function document (title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<link rel="icon" href="data:,">
<title>${escape(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<main>
${body}
</main>
</body>
</html>
`
}

/** The facts of a certificate, as a definition list. */
function facts (certificate: Certificate): string {
  const name = (id: string) => nameOf(certificate, id)
  const rows: Array<[string, string]> = [
    ['Tournament', escape(certificate.tournamentName)],
    ['Match', escape(certificate.matchId)],
    ['Final score', escape(scoreLine(certificate, name).replace(/ {2,}/g, ' '))],
    ['Date', escape(readableDate(certificate.issuedAt))],
    ['Issued by', escape(certificate.issuer ?? 'matchcast')],
    ['Code', `<code>${escape(certificate.shortCode)}</code>`]
  ]
  return `<dl>\n${rows.map(([term, value]) => `<dt>${term}</dt><dd>${value}</dd>`).join('\n')}\n</dl>`
}

/** The page answering a verification: valid, revoked, or not a certificate at all. */
export function verificationPage (status: CertificateStatus, certificate: Certificate | undefined, options: PageOptions): string {
  const note = `<p class="note">The certificate's Ed25519 signature was checked against the issuer's <a href="${escape(options.keyUrl)}">public key</a>, ` +
    'which anyone can use to check it without this site.</p>'
  if (status === 'invalid' || certificate === undefined) {
    return document('Not a valid certificate', `<p class="status invalid">${ICONS.invalid} Not a valid certificate</p>
<h1>Not a valid certificate</h1>
<p class="lead">No certificate issued here has the code <code>${escape(options.code)}</code>.</p>
<p class="note">Check that the code was typed exactly as printed on the certificate: twelve letters and digits in groups of four, such as <code>7K3M-Q9XD-2HWP</code>. A certificate that was changed, or a code that was shortened, does not verify.</p>`)
  }
  const winner = escape(nameOf(certificate, certificate.userId))
  if (status === 'revoked') {
    const reason = certificate.revokedReason === undefined ? '' : `: ${escape(certificate.revokedReason)}`
    return document(`Revoked certificate — ${nameOf(certificate, certificate.userId)}`, `<p class="status revoked">${ICONS.invalid} Revoked certificate</p>
<p class="alert">This certificate was revoked on ${escape(readableDate(certificate.revokedAt!))}${reason}. It no longer stands for the match's result.</p>
<h1>${winner}</h1>
<p class="lead">was certified as the winner of match <strong>${escape(certificate.matchId)}</strong> of <strong>${escape(certificate.tournamentName)}</strong>.</p>
${facts(certificate)}
${note}`)
  }
  return document(`Valid certificate — ${nameOf(certificate, certificate.userId)}`, `<p class="status valid">${ICONS.valid} Valid certificate</p>
<h1>${winner}</h1>
<p class="lead">won match <strong>${escape(certificate.matchId)}</strong> of <strong>${escape(certificate.tournamentName)}</strong> on ${escape(readableDate(certificate.issuedAt))}.</p>
${facts(certificate)}
${note}`)
}
