import { createPublicKey, verify } from 'node:crypto'
import t from 'tap'
import { memoryStore } from '../../../plugins/store/memory-store.js'
import type { Certificate } from '../../../schemas/common.js'
import { keepArtifact, pdfInfo, pdfPng, pdfText, readQr, redPixels } from '../../pdf.js'
import { bearer, finalizeM1, httpApp, liveSeed } from './setup.js'

const BROWSER_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8'

/** The test seed with names, and a tournament name in three scripts and an emoji. */
function namedSeed () {
  const seed = liveSeed()
  seed.tournaments[0]!.name = 'Кубок Весны — Łódź Open 🏆'
  seed.users = [{ id: 'u-a', name: 'Алиса Łódź' }, { id: 'u-b', name: 'Bob Ελληνικά' }]
  return seed
}

t.test('GET /certificates/:id: the holder and organizers read it, with its codes and names', async (t) => {
  const { app } = await httpApp(t, {}, memoryStore(namedSeed()))
  const { certificate } = await finalizeM1(app)
  t.match(certificate, {
    userId: 'u-a',
    names: { 'u-a': 'Алиса Łódź', 'u-b': 'Bob Ελληνικά' },
    issuer: 'matchcast',
    tournamentName: 'Кубок Весны — Łódź Open 🏆',
    shortCode: /^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$/
  })
  for (const user of ['u-a', 'u-org']) {
    const res = await app.inject({ url: `/certificates/${certificate.id}`, headers: bearer(user) })
    t.equal(res.statusCode, 200)
    t.same(res.json(), certificate)
  }
  t.equal((await app.inject({ url: `/certificates/${certificate.id}`, headers: bearer('u-b') })).statusCode, 403, 'the loser')
  t.equal((await app.inject({ url: `/certificates/${certificate.id}`, headers: bearer('u-fan') })).statusCode, 403)
  t.equal((await app.inject({ url: `/certificates/${certificate.id}`, headers: bearer('u-x') })).statusCode, 403)
  t.equal((await app.inject({ url: `/certificates/${certificate.id}` })).statusCode, 401)
  t.equal((await app.inject({ url: '/certificates/nope', headers: bearer('u-org') })).statusCode, 404)
})

t.test('GET /certificates/:id/download: a landscape one-page PDF under 200 KB with every fact, and a QR code of the verify URL', async (t) => {
  const { app } = await httpApp(t, {}, memoryStore(namedSeed()))
  const { certificate } = await finalizeM1(app)
  const res = await app.inject({ url: `/certificates/${certificate.id}/download`, headers: bearer('u-a') })
  t.equal(res.statusCode, 200)
  t.equal(res.headers['content-type'], 'application/pdf')
  t.match(res.headers['content-disposition'], `attachment; filename="certificate-${certificate.id}.pdf"`)
  const pdf = res.rawPayload
  t.equal(pdf.subarray(0, 5).toString(), '%PDF-')
  t.ok(pdf.length < 200 * 1024, `${pdf.length} bytes`)
  const info = await pdfInfo(pdf)
  t.equal(info.Pages, '1')
  t.match(info['Page size'], '841.89 x 595.28', 'A4 landscape')
  t.equal(info.Title, 'Certificate of Victory — Алиса Łódź')
  t.equal(info.Author, 'matchcast')

  const text = await pdfText(pdf)
  t.match(text, 'Certificate of Victory')
  t.match(text, 'Кубок Весны — Łódź Open', 'the tournament, in Cyrillic and Polish')
  t.match(text, 'Алиса Łódź', 'the winner by name, in Cyrillic and Polish')
  t.match(text, /Алиса Łódź +3 – 1 +Bob Ελληνικά/, 'the final score, by names')
  t.match(text, 'won match m1 of')
  const date = new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' }).format(new Date(certificate.issuedAt))
  t.match(text, date, 'the date, readable')
  t.match(text, certificate.shortCode, 'the short code, whole')
  t.match(text.replace(/\s+/g, ''), certificate.code, 'the full signature, on one line')
  t.notMatch(text, '?')

  const png = await pdfPng(pdf)
  keepArtifact('certificate.png', png)
  keepArtifact('certificate.pdf', pdf)
  t.equal(readQr(png), `http://localhost:80/certificates/verify/${certificate.shortCode}`, 'the QR code holds the verify URL of this request\'s origin')

  t.equal((await app.inject({ url: `/certificates/${certificate.id}/download`, headers: bearer('u-b') })).statusCode, 403)
  t.equal((await app.inject({ url: '/certificates/nope/download', headers: bearer('u-org') })).statusCode, 404)
})

t.test('certificates.publicUrl is the URL the QR code and the print give', async (t) => {
  const { app } = await httpApp(t, { certificates: { publicUrl: 'https://cups.example.com/api/', issuer: 'Spring League' } }, memoryStore(namedSeed()))
  const { certificate } = await finalizeM1(app)
  t.equal(certificate.issuer, 'Spring League')
  const pdf = (await app.inject({ url: `/certificates/${certificate.id}/download`, headers: bearer('u-org') })).rawPayload
  const url = `https://cups.example.com/api/certificates/verify/${certificate.shortCode}`
  t.equal(readQr(await pdfPng(pdf)), url)
  const text = await pdfText(pdf)
  t.match(text, url.replace('https://', ''))
  t.match(text, 'SPRING LEAGUE')
})

t.test('a name no embedded font can draw prints with the id; glyphs it lacks are left out, never printed as ?', async (t) => {
  const seed = liveSeed()
  seed.tournaments[0]!.name = 'Finale ⚽ 杯'
  seed.users = [{ id: 'u-a', name: '王小明' }, { id: 'u-b', name: 'Zoë 李' }]
  const { app } = await httpApp(t, {}, memoryStore(seed))
  const { certificate } = await finalizeM1(app)
  const text = await pdfText((await app.inject({ url: `/certificates/${certificate.id}/download`, headers: bearer('u-a') })).rawPayload)
  t.match(text, /This certifies that\s+u-a\s/, 'the winner by id when nothing of the name can be drawn')
  t.match(text, 'Zoë (u-b)', 'the printable part of a name, with the id')
  t.match(text, 'Finale ⚽', 'the symbol comes from the fallback font')
  t.notMatch(text, '?')
  t.notMatch(text, '杯')
})

t.test('a revoked certificate still downloads, stamped REVOKED with when and why', async (t) => {
  const { app } = await httpApp(t, {}, memoryStore(namedSeed()))
  const { certificate } = await finalizeM1(app)
  const before = await pdfPng((await app.inject({ url: `/certificates/${certificate.id}/download`, headers: bearer('u-a') })).rawPayload)
  t.equal(redPixels(before), 0, 'a standing certificate has no red ink')
  await app.matchcast.matches.execute('m1', { userId: 'u-b', role: 'participant' }, { type: 'match.dispute', reason: 'wrong score' })
  await app.matchcast.matches.execute('m1', { userId: 'u-org', role: 'organizer' }, { type: 'match.cancel', reason: 'no-show' })
  const pdf = (await app.inject({ url: `/certificates/${certificate.id}/download`, headers: bearer('u-a') })).rawPayload
  const png = await pdfPng(pdf)
  keepArtifact('certificate-revoked.png', png)
  t.ok(redPixels(png) > 20_000, 'the red REVOKED stamp is drawn across the page')
  const text = await pdfText(pdf)
  t.match(text, /Revoked on \d+ \w+ \d{4}: match m1 was cancelled after a dispute: no-show/)
})

t.test('GET /certificates/verify/:code (JSON): public; by full or short code; changed, truncated or re-encoded codes name nothing', async (t) => {
  const { app } = await httpApp(t)
  const { certificate } = await finalizeM1(app)
  const verifyJson = async (code: string) => {
    const res = await app.inject({ url: `/certificates/verify/${code}` })
    t.equal(res.statusCode, 200, code)
    t.match(res.headers['content-type'], 'application/json')
    return res.json()
  }
  t.same(await verifyJson(certificate.code), { valid: true, status: 'valid', certificate })
  const short = certificate.shortCode
  for (const typed of [short, short.toLowerCase(), short.replaceAll('-', ''), short.replaceAll('1', 'I').replaceAll('0', 'O')]) {
    t.same(await verifyJson(encodeURIComponent(typed)), { valid: true, status: 'valid', certificate }, `as typed: ${typed}`)
  }
  const flip = (c: string) => (c === 'A' ? 'B' : 'A')
  const flipShort = (c: string) => (c === '2' ? '3' : '2')
  const base64 = Buffer.from(certificate.code, 'base64url').toString('base64')
  for (const code of [
    certificate.code.slice(0, -1) + flip(certificate.code.slice(-1)),
    flip(certificate.code[0]!) + certificate.code.slice(1),
    certificate.code.slice(0, -4),
    certificate.code + 'AA',
    encodeURIComponent(base64), // the same signature in standard base64, padded
    short.slice(0, -1) + flipShort(short.slice(-1)),
    short.slice(0, -2),
    `${short}-0`,
    short.replaceAll('-', '.'),
    certificate.code.slice(0, 12),
    'not-a-code',
    encodeURIComponent('!@#$ not base64 at all'),
    'A'.repeat(100)
  ]) {
    t.same(await verifyJson(code), { valid: false, status: 'invalid' }, code)
  }
})

t.test('verify checks the signature: a certificate changed in the store is not valid', async (t) => {
  const store = memoryStore(liveSeed())
  const { app } = await httpApp(t, {}, store)
  const { certificate } = await finalizeM1(app)
  store.getCertificateByCode = async () => ({ ...certificate, userId: 'u-b' })
  t.same((await app.inject({ url: `/certificates/verify/${certificate.code}` })).json(), { valid: false, status: 'invalid' })
})

t.test('verify answers a page to a browser, JSON to everyone else, and says Vary: Accept', async (t) => {
  const { app } = await httpApp(t, {}, memoryStore(namedSeed()))
  const { certificate } = await finalizeM1(app)
  for (const accept of [undefined, '*/*', 'application/json', 'text/plain', 'application/json, text/html;q=0.5']) {
    const res = await app.inject({ url: `/certificates/verify/${certificate.shortCode}`, headers: accept === undefined ? {} : { accept } })
    t.match(res.headers['content-type'], 'application/json', `Accept: ${accept}`)
    t.equal(res.headers.vary, 'accept')
  }
  for (const accept of [BROWSER_ACCEPT, 'text/html']) {
    const res = await app.inject({ url: `/certificates/verify/${certificate.shortCode}`, headers: { accept } })
    t.equal(res.statusCode, 200)
    t.equal(res.headers['content-type'], 'text/html; charset=utf-8')
    t.equal(res.headers.vary, 'accept')
    t.match(res.headers['content-security-policy'], "default-src 'none'")
    t.match(res.body, /^<!doctype html>/)
    t.match(res.body, 'Valid certificate')
    t.match(res.body, '<h1>Алиса Łódź</h1>')
    t.match(res.body, 'Кубок Весны — Łódź Open 🏆')
    t.match(res.body, 'Алиса Łódź 3 – 1 Bob Ελληνικά')
    t.match(res.body, certificate.shortCode)
    t.match(res.body, 'href="../../.well-known/matchcast/certificate-key"')
  }
})

t.test('the verify page: a clear "not a valid certificate", escaped input, and a revoked certificate said so', async (t) => {
  const seed = namedSeed()
  seed.tournaments[0]!.name = 'Cup <script>alert(1)</script> & "friends"'
  const { app } = await httpApp(t, {}, memoryStore(seed))
  const { certificate } = await finalizeM1(app)
  const page = async (code: string) => (await app.inject({ url: `/certificates/verify/${code}`, headers: { accept: BROWSER_ACCEPT } })).body
  const valid = await page(certificate.code)
  t.notMatch(valid, '<script>')
  t.match(valid, 'Cup &lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;friends&quot;')
  keepArtifact('verify-valid.html', valid)

  const invalid = await page(encodeURIComponent('<b>7K3M-Q9XD</b>'))
  t.match(invalid, '<title>Not a valid certificate</title>')
  t.match(invalid, 'No certificate issued here has the code <code>&lt;b&gt;7K3M-Q9XD&lt;/b&gt;</code>')
  t.notMatch(invalid, 'Алиса')
  keepArtifact('verify-invalid.html', invalid)

  await app.matchcast.matches.execute('m1', { userId: 'u-b', role: 'participant' }, { type: 'match.dispute', reason: 'wrong score' })
  await app.inject({ method: 'POST', url: '/matches/m1/finalize', headers: bearer('u-org'), payload: { scores: { 'u-a': 1, 'u-b': 3 } } })
  const revoked = await page(certificate.shortCode)
  t.match(revoked, 'Revoked certificate')
  t.match(revoked, /This certificate was revoked on \d+ \w+ \d{4}: superseded: match m1 was finalized again after a dispute/)
  t.notMatch(revoked, 'Valid certificate')
  keepArtifact('verify-revoked.html', revoked)
  t.match((await app.inject({ url: `/certificates/verify/${certificate.code}` })).json(), {
    valid: false,
    status: 'revoked',
    certificate: { id: certificate.id, revokedReason: /finalized again/, revokedAt: String }
  })
})

t.test('the public key lets a third party check a certificate offline, as the README describes', async (t) => {
  const { app } = await httpApp(t, {}, memoryStore(namedSeed()))
  const { certificate } = await finalizeM1(app)
  const res = await app.inject({ url: '/.well-known/matchcast/certificate-key' })
  t.equal(res.statusCode, 200)
  const key = res.json()
  t.match(key, { algorithm: 'Ed25519', keyId: /^[A-Za-z0-9_-]{43}$/, publicKeyPem: /BEGIN PUBLIC KEY/, jwk: { kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', use: 'sig' } })
  t.equal(key.jwk.kid, key.keyId)

  // What a verifier does with nothing of matchcast: the certificate JSON, the key, node:crypto.
  const c = (await app.inject({ url: `/certificates/verify/${certificate.shortCode}` })).json().certificate as Certificate
  const pairs = (o: Record<string, unknown>) => Object.keys(o).sort().map((k) => [k, o[k]])
  const signed = Buffer.from(JSON.stringify(['matchcast-certificate/2', c.id, c.tournamentId, c.tournamentName, c.matchId, c.userId,
    pairs(c.scores), pairs(c.names!), c.issuer, c.issuedAt]), 'utf8')
  const signature = Buffer.from(c.code, 'base64url')
  t.ok(verify(null, signed, createPublicKey(key.publicKeyPem), signature), 'with the PEM')
  t.ok(verify(null, signed, createPublicKey({ key: key.jwk, format: 'jwk' }), signature), 'with the JWK')
  t.notOk(verify(null, Buffer.from(signed.toString().replace('u-a', 'u-b')), createPublicKey(key.publicKeyPem), signature), 'another winner does not verify')
})

t.test('GET /tournaments/:id/certificates: organizers list every certificate, revoked ones too', async (t) => {
  const { app } = await httpApp(t)
  const { certificate: first } = await finalizeM1(app)
  await app.matchcast.matches.execute('m1', { userId: 'u-b', role: 'participant' }, { type: 'match.dispute', reason: 'wrong score' })
  const second = (await app.inject({ method: 'POST', url: '/matches/m1/finalize', headers: bearer('u-org'), payload: { scores: { 'u-a': 1, 'u-b': 3 } } })).json().certificate
  const res = await app.inject({ url: '/tournaments/t1/certificates', headers: bearer('u-org') })
  t.equal(res.statusCode, 200)
  const { certificates } = res.json() as { certificates: Certificate[] }
  t.same(certificates.map((c) => c.id), [first.id, second.id])
  t.ok(certificates[0]!.revokedAt)
  t.notOk('revokedAt' in certificates[1]!)
  t.same((await app.inject({ url: '/tournaments/t2/certificates', headers: bearer('u-x') })).json(), { certificates: [] })
  t.equal((await app.inject({ url: '/tournaments/t1/certificates', headers: bearer('u-a') })).statusCode, 403)
  t.equal((await app.inject({ url: '/tournaments/nope/certificates', headers: bearer('u-org') })).statusCode, 404)
  t.equal((await app.inject({ url: '/tournaments/t1/certificates' })).statusCode, 401)
})
