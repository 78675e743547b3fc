/**
 * The printable certificate: one landscape A4 page (PDFKit) a winner would frame or share. A
 * double border, the issuer, the title, the winner's name large, the match and the tournament,
 * the final score, the date, a QR code of the public verification URL and the short code beside
 * it; the full signature in the fine print, and `certificate.json` attached, so the PDF alone is
 * enough to check the certificate offline. Fonts are embedded as subsets (see fonts.ts): a page
 * weighs some 50 KB.
 *
 * This module is loaded by the first download (pdf.ts), with PDFKit, fontkit and the QR encoder.
 */
import PDFDocument from 'pdfkit'
import { encode } from 'uqr'
import type { Certificate } from '../../schemas/common.js'
import { drawable, runsOf, type Font, type Style } from './fonts.js'
import { nameOf, readableDate, scoreLine } from './format.js'

export interface PdfOptions {
  /** The public URL of this certificate's verification page, encoded in the QR code and printed under it. */
  verifyUrl: string
}

const W = 841.89 // A4 landscape, in points
const H = 595.28
const INK = '#1f2a44'
const GOLD = '#a8844f'
const MUTED = '#5b6270'
const PAPER = '#fbf8f1'
const RED = '#b3261e'

/** pdfkit's name for each fontkit font it has been handed. */
const fontKeys = new WeakMap<Font, string>()
let fontCount = 0

interface LineOptions {
  style: Style
  size: number
  /** Top of the line. */
  y: number
  /** Horizontal centre. @default the page's */
  cx?: number
  /** The size shrinks until the line fits this width. */
  maxWidth?: number
  color?: string
  /** Extra space after each character (letter-spaced capitals). */
  tracking?: number
}

/** Draws one line of text centred on `cx`, each run in its own font; returns its width. */
function line (doc: PDFKit.PDFDocument, text: string, { style, size, y, cx = W / 2, maxWidth = 700, color = INK, tracking = 0 }: LineOptions): number {
  const runs = runsOf(text, style).runs.map((run) => {
    let key = fontKeys.get(run.font)
    if (key === undefined) fontKeys.set(run.font, key = `matchcast-font-${++fontCount}`)
    // pdfkit takes a fontkit font as it is (its types only list file sources). Measuring through
    // pdfkit lays the words out once: drawing them below reuses its layout cache.
    doc.font(run.font as unknown as Buffer, key, 1)
    return { ...run, key, chars: [...run.text].length, advance: doc.widthOfString(run.text) }
  })
  const width = (s: number) => runs.reduce((sum, r) => sum + r.advance * s + tracking * r.chars, 0)
  // Shrink long names and titles to fit, rather than wrapping them.
  const fitted = Math.max(6, Math.min(size, size * maxWidth / Math.max(width(size), 1)))
  let x = cx - width(fitted) / 2
  doc.fillColor(color)
  for (const run of runs) {
    doc.font(run.font as unknown as Buffer, run.key, fitted)
    doc.text(run.text, x, y + (size - fitted) / 2, { lineBreak: false, characterSpacing: tracking })
    x += run.advance * fitted + tracking * run.chars
  }
  return width(fitted)
}

/** A name as it can be printed: the id alone when no character of it can be drawn, the id after it when some cannot. */
function printableName (certificate: Certificate, userId: string): string {
  const { text, complete } = drawable(nameOf(certificate, userId), 'serifBold')
  if (complete && text !== '') return text
  return text === '' ? userId : `${text} (${userId})`
}

/** The QR code of `text`, drawn as vector squares (one rectangle per run of dark modules) in a `size`-point square. */
function qrCode (doc: PDFKit.PDFDocument, text: string, x: number, y: number, size: number): void {
  const qr = encode(text, { ecc: 'M', border: 0 })
  const cell = size / qr.size
  doc.rect(x - 2 * cell, y - 2 * cell, size + 4 * cell, size + 4 * cell).fill('#ffffff') // quiet zone
  for (let row = 0; row < qr.size; row++) {
    for (let col = 0; col < qr.size; col++) {
      if (!qr.data[row]![col]) continue
      let end = col
      while (end + 1 < qr.size && qr.data[row]![end + 1]) end++
      // A hair wider than the module, so neighbours never show a seam when rasterized.
      doc.rect(x + col * cell, y + row * cell, (end - col + 1) * cell + 0.01, cell + 0.01)
      col = end
    }
  }
  doc.fill(INK)
}

function diamond (doc: PDFKit.PDFDocument, x: number, y: number, r: number): void {
  doc.polygon([x, y - r], [x + r, y], [x, y + r], [x - r, y]).fill(GOLD)
}

/** Draws the certificate as PDF bytes. */
export async function drawCertificatePdf (certificate: Certificate, options: PdfOptions): Promise<Buffer> {
  const winner = printableName(certificate, certificate.userId)
  const tournament = drawable(certificate.tournamentName, 'serifBold').text || certificate.tournamentId
  const doc = new PDFDocument({
    size: 'A4',
    layout: 'landscape',
    margin: 0,
    // No default font: pdfkit would read Helvetica's metrics from disk for every document.
    font: null as unknown as string,
    lang: 'en',
    displayTitle: true,
    info: {
      Title: `Certificate of Victory — ${winner}`,
      Subject: `${tournament}, match ${certificate.matchId}`,
      Author: certificate.issuer ?? 'matchcast',
      Creator: 'matchcast',
      Keywords: certificate.shortCode,
      // A fixed date keeps the bytes a function of the certificate alone.
      CreationDate: new Date(certificate.issuedAt),
      ModDate: new Date(certificate.issuedAt)
    }
  })
  const chunks: Buffer[] = []
  doc.on('data', (chunk: Buffer) => chunks.push(chunk))
  const done = new Promise<Buffer>((resolve, reject) => {
    doc.on('end', () => resolve(Buffer.concat(chunks)))
    doc.on('error', reject)
  })

  // Paper and a double border with diamond corners.
  doc.rect(0, 0, W, H).fill(PAPER)
  doc.lineWidth(2.5).rect(20, 20, W - 40, H - 40).stroke(GOLD)
  doc.lineWidth(0.75).rect(28, 28, W - 56, H - 56).stroke(GOLD)
  for (const [x, y] of [[28, 28], [W - 28, 28], [28, H - 28], [W - 28, H - 28]] as const) diamond(doc, x, y, 6)

  const issuer = drawable(certificate.issuer ?? 'matchcast', 'sansBold').text || 'matchcast'
  line(doc, issuer.toUpperCase(), { style: 'sansBold', size: 11, y: 60, color: GOLD })
  line(doc, 'Certificate of Victory', { style: 'serifBold', size: 40, y: 80 })
  doc.lineWidth(0.75).moveTo(W / 2 - 130, 143).lineTo(W / 2 - 10, 143).moveTo(W / 2 + 10, 143).lineTo(W / 2 + 130, 143).stroke(GOLD)
  diamond(doc, W / 2, 143, 3.5)

  line(doc, 'This certifies that', { style: 'serifItalic', size: 14, y: 164, color: MUTED })
  line(doc, winner, { style: 'serifBold', size: 46, y: 186, maxWidth: 640 })
  doc.lineWidth(0.5).moveTo(W / 2 - 230, 252).lineTo(W / 2 + 230, 252).stroke('#d9c9a8')
  line(doc, `won match ${certificate.matchId} of`, { style: 'serifItalic', size: 14, y: 264, color: MUTED })
  line(doc, tournament, { style: 'serifBold', size: 26, y: 286, maxWidth: 640 })
  line(doc, scoreLine(certificate, (id) => printableName(certificate, id)), { style: 'serif', size: 16, y: 334, maxWidth: 600 })
  line(doc, 'FINAL SCORE', { style: 'sans', size: 7.5, y: 357, color: GOLD, tracking: 1.5 })

  // Date and issuer on signature lines; the QR code and the short code on the right.
  const foot = 438
  for (const [cx, value, label] of [[200, readableDate(certificate.issuedAt), 'DATE'], [420, issuer, 'ISSUED BY']] as const) {
    line(doc, value, { style: 'serif', size: 15, y: foot, cx, maxWidth: 170 })
    doc.lineWidth(0.5).moveTo(cx - 85, foot + 24).lineTo(cx + 85, foot + 24).stroke(MUTED)
    line(doc, label, { style: 'sans', size: 7.5, y: foot + 30, cx, color: GOLD, tracking: 1.5 })
  }
  const qrSize = 92
  const qrX = 650
  const qrY = 388
  qrCode(doc, options.verifyUrl, qrX, qrY, qrSize)
  const qrCx = qrX + qrSize / 2
  line(doc, certificate.shortCode, { style: 'sansBold', size: 13, y: qrY + qrSize + 10, cx: qrCx })
  line(doc, 'SCAN OR TYPE THE CODE TO VERIFY', { style: 'sans', size: 6, y: qrY + qrSize + 29, cx: qrCx, color: GOLD, tracking: 1 })
  line(doc, options.verifyUrl.replace(/^https?:\/\//, ''), { style: 'sans', size: 6.5, y: qrY + qrSize + 39, cx: qrCx, maxWidth: 210, color: MUTED })

  line(doc, `Certificate ${certificate.id}  ·  Ed25519 signature ${certificate.code}`, { style: 'sans', size: 5.5, y: H - 45, color: '#8a8f99', maxWidth: 760 })

  if (certificate.revokedAt !== undefined) {
    doc.save().rotate(-18, { origin: [W / 2, H / 2] }).opacity(0.75)
    doc.lineWidth(4).roundedRect(W / 2 - 190, H / 2 - 52, 380, 104, 12).stroke(RED)
    line(doc, 'REVOKED', { style: 'sansBold', size: 64, y: H / 2 - 40, color: RED })
    doc.restore()
    line(doc, `Revoked on ${readableDate(certificate.revokedAt)}${certificate.revokedReason === undefined ? '' : `: ${certificate.revokedReason}`}`,
      { style: 'sansBold', size: 9, y: 40, color: RED, maxWidth: 700 })
  }

  doc.file(Buffer.from(JSON.stringify(certificate, null, 2)), {
    name: 'certificate.json',
    type: 'application/json',
    description: 'The certificate as issued, with its Ed25519 signature (code)',
    creationDate: new Date(certificate.issuedAt),
    modifiedDate: new Date(certificate.issuedAt)
  })
  doc.end()
  return done
}
