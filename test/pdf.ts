/**
 * Reading certificate PDFs as a person would: the text a PDF reader extracts (pdftotext), the page
 * rendered to PNG (pdftoppm, both from poppler-utils) and the QR code on it, decoded (jsQR). PNGs
 * are kept under `.artifacts/` (git-ignored) to be looked at.
 */
import { execFile } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import jsQRModule from 'jsqr'
import { PNG } from 'pngjs'

const run = promisify(execFile)
// jsqr is CommonJS compiled from ES modules: under Node's ESM loader its function is `default.default`.
const jsQR = (jsQRModule as unknown as { default: typeof import('jsqr').default }).default
export const ARTIFACTS = fileURLToPath(new URL('../.artifacts/', import.meta.url))

async function pipe (command: string, args: string[], input: Buffer): Promise<Buffer> {
  const child = run(command, args, { encoding: 'buffer', maxBuffer: 64 * 1024 * 1024 })
  child.child.stdin!.end(input)
  return (await child).stdout
}

/** The text of every page, as `pdftotext` extracts it (layout kept, so words stay on their lines). */
export async function pdfText (pdf: Buffer): Promise<string> {
  return (await pipe('pdftotext', ['-layout', '-enc', 'UTF-8', '-', '-'], pdf)).toString('utf8')
}

/** `pdfinfo`'s fields (Title, Pages, Page size…). */
export async function pdfInfo (pdf: Buffer): Promise<Record<string, string>> {
  const out = (await pipe('pdfinfo', ['-enc', 'UTF-8', '-'], pdf)).toString('utf8')
  return Object.fromEntries(out.split('\n').filter((l) => l.includes(':')).map((l) => {
    const i = l.indexOf(':')
    return [l.slice(0, i), l.slice(i + 1).trim()]
  }))
}

/** The first page as a PNG at `dpi`. */
export async function pdfPng (pdf: Buffer, dpi = 110): Promise<Buffer> {
  return pipe('pdftoppm', ['-png', '-r', String(dpi), '-singlefile', '-'], pdf)
}

/** The text of the QR code in a PNG, or `undefined` when none is found. */
export function readQr (png: Buffer): string | undefined {
  const image = PNG.sync.read(png)
  return jsQR(new Uint8ClampedArray(image.data.buffer, image.data.byteOffset, image.data.byteLength), image.width, image.height)?.data
}

/** Keeps `data` as `.artifacts/<name>` for a person to look at. */
export function keepArtifact (name: string, data: Buffer | string): void {
  mkdirSync(ARTIFACTS, { recursive: true })
  writeFileSync(ARTIFACTS + name, data)
}

/** How many pixels of a PNG are a strong red (the REVOKED stamp's ink). */
export function redPixels (png: Buffer): number {
  const { data } = PNG.sync.read(png)
  let count = 0
  for (let i = 0; i < data.length; i += 4) if (data[i]! > 150 && data[i]! - data[i + 1]! > 60 && data[i]! - data[i + 2]! > 60) count++
  return count
}
