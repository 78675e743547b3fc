import t from 'tap'
import { drawable, fontFor, runsOf, sfntOf } from '../../../plugins/certificates/fonts.js'
import { createCertificates } from '../../../plugins/certificates/index.js'
import { renderCertificatePdf } from '../../../plugins/certificates/pdf.js'
import { createCertificateSigner } from '../../../plugins/certificates/signer.js'
import { nameOf, readableDate, scoreLine, standings } from '../../../plugins/certificates/format.js'
import { verificationPage } from '../../../plugins/certificates/page.js'
import { pdfText } from '../../pdf.js'

const certificates = createCertificates(createCertificateSigner(), { issuer: 'League' })
const issue = (overrides: Record<string, unknown> = {}) => certificates.issue({
  tournamentId: 't1', tournamentName: 'Cup', matchId: 'm1', userId: 'u-a', scores: { 'u-a': 3, 'u-b': 1 }, names: { 'u-a': 'Ann', 'u-b': 'Bob' }, issuedAt: '2026-03-01T10:00:00.000Z', ...overrides
})

t.test('fonts: Latin, Cyrillic, Greek and Vietnamese from Noto, symbols and emoji from the fallbacks, the rest left out', async (t) => {
  // Each Unicode subset is a font of its own, so one script may take several runs of one family.
  const family = (text: string) => [...new Set(runsOf(text, 'serif').runs.map((r) => r.font.familyName))]
  t.same(family('Łódź'), ['Noto Serif'])
  t.same(family('Ж'), ['Noto Serif'])
  t.same(family('Ω'), ['Noto Serif'])
  t.same(family('ệ'), ['Noto Serif'])
  t.same(family('♛'), ['Noto Sans Symbols 2'])
  t.same(family('🏆'), ['Noto Sans Symbols 2'])
  t.same(family('😀'), ['Noto Emoji'])
  const { runs, missing } = runsOf('Cup 杯 🏆\uFE0F 😀\uFE0F', 'serif')
  t.same(runs.map((r) => r.text), ['Cup  ', '🏆', ' ', '😀\uFE0F'], 'a variation selector stays with a font that has it, and is dropped otherwise')
  t.same(missing, ['杯'])
  t.equal(fontFor('serif', 0x676f), null)
  t.same(runsOf('\u200d', 'serif'), { runs: [], missing: [] }, 'a joiner with nothing to join is dropped')
  t.same(runsOf('e\u0301', 'serif').runs.map((r) => r.text), ['é'], 'composed (NFC) before drawing')
  t.same(drawable('王 Zoë  李', 'serifBold'), { text: 'Zoë', complete: false })
  t.same(drawable('Zoë', 'serifBold'), { text: 'Zoë', complete: true })
})

t.test('sfntOf: a WOFF file unwrapped, stored tables copied as they are', async (t) => {
  // A one-table WOFF whose table is stored uncompressed (compLength == origLength).
  const woff = Buffer.alloc(44 + 20 + 4)
  woff.write('wOFF', 0)
  woff.writeUInt32BE(0x00010000, 4)
  woff.writeUInt16BE(1, 12)
  woff.write('test', 44)
  woff.writeUInt32BE(64, 48)
  woff.writeUInt32BE(3, 52)
  woff.writeUInt32BE(3, 56)
  woff.write('abc', 64)
  const sfnt = sfntOf(woff)
  t.equal(sfnt.readUInt32BE(0), 0x00010000)
  t.equal(sfnt.readUInt16BE(4), 1)
  t.equal(sfnt.subarray(12, 16).toString(), 'test')
  t.equal(sfnt.subarray(28, 31).toString(), 'abc')
  t.equal(sfnt.length, 32, 'tables padded to four bytes')
})

t.test('format: dates as people say them; names by own keys; standings winner first', async (t) => {
  t.equal(readableDate('2026-03-01T23:30:00.000Z'), '1 March 2026', 'the UTC day')
  t.equal(nameOf({ names: { 'u-a': 'Ann' } }, 'u-a'), 'Ann')
  t.equal(nameOf({ names: { 'u-a': 'Ann' } }, 'toString'), 'toString', 'never a name off the prototype')
  t.equal(nameOf({}, 'u-a'), 'u-a')
  t.same(standings({ userId: 'u-c', scores: { 'u-a': 5, 'u-b': 1 }, names: { 'u-c': 'C' } }).map((r) => [r.userId, r.score]), [['u-c', 0], ['u-a', 5], ['u-b', 1]])
  t.equal(scoreLine({ userId: 'u-a', scores: { 'u-a': 3, 'u-b': 1, 'u-c': 0 } }, (id) => id.toUpperCase()), 'U-A 3  ·  U-B 1  ·  U-C 0')
  t.equal(scoreLine({ userId: 'u-b', scores: { 'u-a': 3, 'u-b': 1 } }, (id) => id), 'u-b   1 – 3   u-a', 'the winner (by winnerId) first')
})

t.test('the PDF: its facts as text, periods included after a colon was drawn before (fontkit keeps the glyph of ".")', async (t) => {
  const colon = await pdfText(await renderCertificatePdf(issue(), { verifyUrl: 'http://localhost:80/certificates/verify/x' }))
  t.match(colon, 'localhost:80/certificates/verify/x')
  const text = await pdfText(await renderCertificatePdf(issue({ tournamentName: 'Cup 2.0' }), { verifyUrl: 'https://a.example.com/v' }))
  t.match(text, 'a.example.com/v')
  t.match(text, 'Cup 2.0')
  t.match(text, /Ann +3 – 1 +Bob/)
  t.match(text, '1 March 2026')
  t.match(text, 'LEAGUE')
})

t.test('the PDF of a certificate issued before names were signed: ids, and matchcast as issuer', async (t) => {
  const { names: _names, issuer: _issuer, ...legacy } = issue()
  const text = await pdfText(await renderCertificatePdf(legacy, { verifyUrl: 'https://a.example/v' }))
  t.match(text, /This certifies that\s+u-a/)
  t.match(text, 'MATCHCAST')
  t.match(text, /u-a +3 – 1 +u-b/)
})

t.test('the same certificate renders the same bytes', async (t) => {
  const certificate = issue()
  const a = await renderCertificatePdf(certificate, { verifyUrl: 'https://a.example/v' })
  const b = await renderCertificatePdf(certificate, { verifyUrl: 'https://a.example/v' })
  t.ok(a.equals(b))
})

t.test('a tournament or issuer with nothing drawable prints as the tournament id and matchcast; a revocation without a reason says when', async (t) => {
  const certificate = createCertificates(createCertificateSigner(), { issuer: '联赛' }).issue({
    tournamentId: 't-cjk', tournamentName: '春季杯', matchId: 'm1', userId: 'u-a', scores: { 'u-a': 3, 'u-b': 1 }, names: {}, issuedAt: '2026-03-01T10:00:00.000Z'
  })
  const text = await pdfText(await renderCertificatePdf(certificate, { verifyUrl: 'https://a.example/v' }))
  t.match(text, /won match m1 of\s+t-cjk/)
  t.match(text, 'MATCHCAST')
  const revoked = await pdfText(await renderCertificatePdf({ ...certificate, revokedAt: '2026-03-02T10:00:00.000Z' }, { verifyUrl: 'https://a.example/v' }))
  t.match(revoked, /Revoked on 2 March 2026\n/)
})

t.test('the verification page of a certificate without issuer, revoked without a reason', async (t) => {
  const { issuer: _issuer, ...legacy } = issue()
  const page = verificationPage('revoked', { ...legacy, revokedAt: '2026-03-02T10:00:00.000Z' }, { code: legacy.shortCode, keyUrl: '/k' })
  t.match(page, 'This certificate was revoked on 2 March 2026. It no longer stands')
  t.match(page, '<dt>Issued by</dt><dd>matchcast</dd>')
})
