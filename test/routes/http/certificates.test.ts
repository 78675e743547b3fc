import { PDFDocument } from 'pdf-lib'
import t from 'tap'
import { printable, renderCertificatePdf } from '../../../plugins/certificates/pdf.js'
import { memoryStore } from '../../../plugins/store/memory-store.js'
import { bearer, finalizeM1, httpApp, liveSeed } from './setup.js'

t.test('GET /certificates/:id: the holder and organizers read it, with its code', async (t) => {
  const { app } = await httpApp(t)
  const { certificate } = await finalizeM1(app)
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

t.test('GET /certificates/:id/download: a real PDF with the certificate\'s facts', async (t) => {
  const { app } = await httpApp(t)
  const { certificate } = await finalizeM1(app)
  const res = await app.inject({ url: `/certificates/${certificate.id}/download`, headers: bearer('u-a') })
  t.equal(res.statusCode, 200)
  t.equal(res.headers['content-type'], 'application/pdf')
  t.match(res.headers['content-disposition'], `certificate-${certificate.id}.pdf`)
  t.equal(res.rawPayload.subarray(0, 5).toString(), '%PDF-')
  const doc = await PDFDocument.load(res.rawPayload)
  t.equal(doc.getPageCount(), 1)
  t.equal(doc.getTitle(), `Certificate ${certificate.id}`)
  t.equal(doc.getSubject(), 'Spring Cup, match m1')
  t.equal((await app.inject({ url: `/certificates/${certificate.id}/download`, headers: bearer('u-b') })).statusCode, 403)
  t.equal((await app.inject({ url: '/certificates/nope/download', headers: bearer('u-org') })).statusCode, 404)
})

t.test('the PDF prints what the standard fonts cannot encode as ?', async (t) => {
  t.equal(printable('Coupe d\'été ⚽ 杯'), 'Coupe d\'été ? ?')
  const pdf = await renderCertificatePdf({
    id: 'c1', code: 'x'.repeat(130), tournamentId: 't1', tournamentName: 'Finale ⚽', matchId: 'm1', userId: 'u-a', scores: { 'u-a': 1 }, issuedAt: '2025-01-02T03:04:05.000Z'
  })
  const doc = await PDFDocument.load(pdf)
  t.equal(doc.getSubject(), 'Finale ?, match m1')
})

t.test('GET /certificates/verify/:code: public; a changed or truncated code is not valid', async (t) => {
  const { app } = await httpApp(t)
  const { certificate } = await finalizeM1(app)
  const ok = await app.inject({ url: `/certificates/verify/${certificate.code}` })
  t.equal(ok.statusCode, 200)
  t.same(ok.json(), { valid: true, certificate })
  const flip = (c: string) => (c === 'A' ? 'B' : 'A')
  const tampered = [
    certificate.code.slice(0, -1) + flip(certificate.code.slice(-1)),
    flip(certificate.code[0]!) + certificate.code.slice(1),
    certificate.code.slice(0, -4),
    certificate.code + 'AA',
    'not-a-code',
    encodeURIComponent('!@#$ not base64 at all')
  ]
  for (const code of tampered) {
    const res = await app.inject({ url: `/certificates/verify/${code}` })
    t.equal(res.statusCode, 200, code)
    t.same(res.json(), { valid: false })
  }
  t.same((await app.inject({ url: `/certificates/verify/${'A'.repeat(100)}` })).json(), { valid: false })
})

t.test('verify checks the signature: a certificate changed in the store is not valid', async (t) => {
  const store = memoryStore(liveSeed())
  const { app } = await httpApp(t, {}, store)
  const { certificate } = await finalizeM1(app)
  store.getCertificateByCode = async () => ({ ...certificate, userId: 'u-b' })
  t.same((await app.inject({ url: `/certificates/verify/${certificate.code}` })).json(), { valid: false })
})
