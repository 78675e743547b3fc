/**
 * The printable certificate: a one-page PDF (pdf-lib) with the tournament, the match, the winner,
 * the date and the verification code, plus where to verify it.
 */
import { PDFDocument, StandardFonts, rgb } from 'pdf-lib'
import type { Certificate } from '../../schemas/common.js'

/** The standard PDF fonts only encode WinAnsi (Latin-1 and a few more): anything else prints as `?`. */
export function printable (text: string): string {
  return text.replace(/[^\x20-\x7E\xA0-\xFF]/g, '?')
}

/** Splits `text` into lines of at most `width` characters (verification codes have no spaces). */
function chunks (text: string, width: number): string[] {
  const lines: string[] = []
  for (let i = 0; i < text.length; i += width) lines.push(text.slice(i, i + width))
  return lines
}

export interface PdfOptions {
  /** Where the code can be checked, printed under it (e.g. `https://host/certificates/verify/`). */
  verifyUrl?: string
}

/** Renders the certificate as PDF bytes. */
export async function renderCertificatePdf (certificate: Certificate, options: PdfOptions = {}): Promise<Uint8Array> {
  const doc = await PDFDocument.create()
  doc.setTitle(printable(`Certificate ${certificate.id}`))
  doc.setSubject(printable(`${certificate.tournamentName}, match ${certificate.matchId}`))
  doc.setCreator('matchcast')
  // A fixed date keeps the bytes a function of the certificate alone.
  doc.setCreationDate(new Date(certificate.issuedAt))
  doc.setModificationDate(new Date(certificate.issuedAt))
  const page = doc.addPage([595.28, 841.89]) // A4 portrait, in points
  const regular = await doc.embedFont(StandardFonts.Helvetica)
  const bold = await doc.embedFont(StandardFonts.HelveticaBold)
  const mono = await doc.embedFont(StandardFonts.Courier)
  const ink = rgb(0.1, 0.1, 0.15)
  let y = 760
  const line = (text: string, size: number, font = regular, gap = 10) => {
    page.drawText(printable(text), { x: 60, y, size, font, color: ink })
    y -= size + gap
  }
  line('Certificate of Victory', 28, bold, 30)
  line(certificate.tournamentName, 20, bold, 24)
  line(`Tournament: ${certificate.tournamentId}`, 12)
  line(`Match: ${certificate.matchId}`, 12)
  line(`Winner: ${certificate.userId}`, 16, bold, 14)
  const scores = Object.entries(certificate.scores).map(([user, score]) => `${user} ${score}`).join('  |  ')
  line(`Final score: ${scores}`, 12)
  line(`Date: ${certificate.issuedAt.slice(0, 10)} (${certificate.issuedAt})`, 12, regular, 30)
  line(`Certificate ID: ${certificate.id}`, 10)
  line('Verification code:', 10, bold, 6)
  for (const part of chunks(certificate.code, 60)) line(part, 10, mono, 4)
  y -= 10
  if (options.verifyUrl !== undefined) line(`Verify at ${options.verifyUrl}<code>`, 9)
  return doc.save()
}
