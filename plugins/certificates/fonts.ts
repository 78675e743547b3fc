/**
 * The certificate's type: Noto Serif and Noto Sans (Latin, Latin Extended, Cyrillic, Greek,
 * Vietnamese) from the @fontsource packages, then Noto Sans Symbols 2 and the monochrome Noto Emoji
 * for what those lack. Fontsource splits each face into Unicode subsets; a subset file is loaded the
 * first time a character of its range is drawn, and kept for the life of the process.
 *
 * Text is cut into runs, each drawn with the first font of its chain that has the character. A
 * character no font has (e.g. CJK) is left out, never drawn as `?` or a box: the caller decides
 * what to print when nothing of a text is left (a name falls back to the user id).
 */
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { inflateSync } from 'node:zlib'
import * as fontkit from 'fontkit'

export type Font = fontkit.Font

interface Face { family: string, weight: number, style: 'normal' | 'italic' }

const require = createRequire(import.meta.url)
const SYMBOLS: Face = { family: 'noto-sans-symbols-2', weight: 400, style: 'normal' }
const EMOJI: Face = { family: 'noto-emoji', weight: 400, style: 'normal' }

/** Each style's chain of faces, most wanted first. */
export const STYLES = {
  serif: [{ family: 'noto-serif', weight: 400, style: 'normal' }, SYMBOLS, EMOJI],
  serifBold: [{ family: 'noto-serif', weight: 700, style: 'normal' }, SYMBOLS, EMOJI],
  serifItalic: [{ family: 'noto-serif', weight: 400, style: 'italic' }, SYMBOLS, EMOJI],
  sans: [{ family: 'noto-sans', weight: 400, style: 'normal' }, SYMBOLS, EMOJI],
  sansBold: [{ family: 'noto-sans', weight: 600, style: 'normal' }, SYMBOLS, EMOJI]
} as const satisfies Record<string, readonly Face[]>
export type Style = keyof typeof STYLES

interface Subset { name: string, ranges: Array<readonly [number, number]> }
interface Family { dir: string, subsets: Subset[] }

const families = new Map<string, Family>()
/** A loaded subset file by its file name. */
const loaded = new Map<string, Font>()
/** Style and code point → the font that draws it (`null`: none). */
const chosen = new Map<string, Font | null>()

/** A fontsource package: its files folder and each subset's Unicode ranges (its `unicode.json`). */
function family (name: string): Family {
  let found = families.get(name)
  if (found === undefined) {
    const index = require.resolve(`@fontsource/${name}/unicode.json`)
    const ranges = JSON.parse(readFileSync(index, 'utf8')) as Record<string, string>
    found = {
      dir: join(dirname(index), 'files'),
      subsets: Object.entries(ranges).map(([subset, list]) => ({
        // Emoji subsets are named `[0]`, `[1]`… in unicode.json and `0`, `1`… in file names.
        name: subset.replace(/^\[(\d+)\]$/, '$1'),
        ranges: list.split(',').map((range) => {
          const [lo, hi = lo] = range.trim().replace(/^U\+/i, '').split('-').map((hex) => parseInt(hex!, 16))
          return [lo!, hi!] as const
        })
      }))
    }
    families.set(name, found)
  }
  return found
}

/**
 * A WOFF 1.0 file as the plain TrueType/OpenType file it wraps: each table inflated (zlib) once,
 * here, since fontkit would otherwise inflate a table again on every read.
 */
export function sfntOf (woff: Buffer): Buffer {
  const count = woff.readUInt16BE(12)
  const header = Buffer.alloc(12 + 16 * count)
  header.writeUInt32BE(woff.readUInt32BE(4), 0) // the wrapped font's flavor (TrueType or CFF)
  header.writeUInt16BE(count, 4)
  const log2 = Math.floor(Math.log2(count))
  header.writeUInt16BE(16 * 2 ** log2, 6) // searchRange, entrySelector, rangeShift
  header.writeUInt16BE(log2, 8)
  header.writeUInt16BE(16 * count - 16 * 2 ** log2, 10)
  const tables: Buffer[] = []
  let offset = header.length
  for (let i = 0; i < count; i++) {
    const entry = 44 + 20 * i // WOFF table directory: tag, offset, compLength, origLength, origChecksum
    const at = woff.readUInt32BE(entry + 4)
    const compressed = woff.readUInt32BE(entry + 8)
    const length = woff.readUInt32BE(entry + 12)
    const raw = woff.subarray(at, at + compressed)
    const data = compressed < length ? inflateSync(raw) : raw
    const record = 12 + 16 * i
    header.writeUInt32BE(woff.readUInt32BE(entry), record)
    header.writeUInt32BE(woff.readUInt32BE(entry + 16), record + 4)
    header.writeUInt32BE(offset, record + 8)
    header.writeUInt32BE(length, record + 12)
    const padded = Buffer.alloc((length + 3) & ~3) // tables start on 4-byte boundaries
    data.copy(padded)
    tables.push(padded)
    offset += padded.length
  }
  return Buffer.concat([header, ...tables])
}

/** A subset file of a face, loaded once (every face in `STYLES` ships every subset of its family). */
function subsetFont (face: Face, subset: string): Font {
  const file = `${face.family}-${subset}-${face.weight}-${face.style}.woff`
  let font = loaded.get(file)
  if (font === undefined) {
    font = fontkit.create(sfntOf(readFileSync(join(family(face.family).dir, file)))) as Font
    // fontkit caches one glyph object per glyph, with the characters it was first looked up by.
    // Subsetting a composite glyph (`:` is built of `.`) looks its parts up by id alone, and the
    // part would then carry no character: every later PDF would draw `.` without text behind it
    // (invisible to copy and search). Looking every character up first gives each glyph its own.
    for (const cp of font.characterSet) font.glyphForCodePoint(cp)
    loaded.set(file, font)
  }
  return font
}

/** The first font of `style`'s chain that draws code point `cp`, looked up in the subsets whose range holds it. */
function findFont (style: Style, cp: number): Font | null {
  for (const face of STYLES[style]) {
    for (const subset of family(face.family).subsets) {
      if (!subset.ranges.some(([lo, hi]) => cp >= lo && cp <= hi)) continue
      const candidate = subsetFont(face, subset.name)
      if (candidate.hasGlyphForCodePoint(cp)) return candidate
    }
  }
  return null
}

/** The font of `style` that draws code point `cp`, or `null` when none does. */
export function fontFor (style: Style, cp: number): Font | null {
  const key = `${style}:${cp}`
  let font = chosen.get(key)
  if (font === undefined) chosen.set(key, font = findFont(style, cp))
  return font
}

export interface Run { font: Font, text: string }

/** Joiners and variation selectors: drawn by the font of the character they follow, or not at all. */
const JOINER = /^(?:\u200C|\u200D|[\uFE00-\uFE0F])$/u

/**
 * `text` (NFC) as runs of one font each; characters no font of the style has are left out and
 * listed in `missing`.
 */
export function runsOf (text: string, style: Style): { runs: Run[], missing: string[] } {
  const runs: Run[] = []
  const missing: string[] = []
  for (const char of text.normalize('NFC')) {
    const last = runs.at(-1)
    const cp = char.codePointAt(0)!
    if (JOINER.test(char)) {
      if (last?.font.hasGlyphForCodePoint(cp)) last.text += char
      continue
    }
    const font = fontFor(style, cp)
    if (font === null) missing.push(char)
    else if (last?.font === font) last.text += char
    else runs.push({ font, text: char })
  }
  return { runs, missing }
}

/** `text` as it will be drawn in `style` (without the characters no font has, spaces collapsed), and whether that is all of it. */
export function drawable (text: string, style: Style): { text: string, complete: boolean } {
  const { runs, missing } = runsOf(text, style)
  return { text: runs.map((r) => r.text).join('').replace(/\s+/g, ' ').trim(), complete: missing.length === 0 }
}
