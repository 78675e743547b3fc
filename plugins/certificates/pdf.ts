/**
 * The printable certificate as PDF bytes (drawn by pdf-document.ts). PDFKit, fontkit, the QR
 * encoder and the fonts are loaded by the first download, not at start: many processes never
 * render a certificate, and these are among the largest modules matchcast uses. The first
 * download is slower by their load; a fault loading them fails that download (and is tried again
 * by the next one), never the start.
 */
import { lazy } from '../../lib/lazy.js'
import type { Certificate } from '../../schemas/common.js'
import type { PdfOptions } from './pdf-document.js'

export type { PdfOptions }

const document = lazy(() => import('./pdf-document.js'))

/** Renders the certificate as PDF bytes. */
export async function renderCertificatePdf (certificate: Certificate, options: PdfOptions): Promise<Buffer> {
  return (await document()).drawCertificatePdf(certificate, options)
}
