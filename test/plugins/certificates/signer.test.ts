import { generateKeyPairSync } from 'node:crypto'
import t from 'tap'
import { canonicalCertificate, createCertificateSigner } from '../../../plugins/certificates/signer.js'

const fields = { id: 'c1', tournamentId: 't1', tournamentName: 'Cup', matchId: 'm1', userId: 'u-a', scores: { 'u-b': 1, 'u-a': 3 }, issuedAt: '2026-01-01T00:00:00.000Z' }

t.test('a code verifies for its fields and for nothing else', async (t) => {
  const signer = createCertificateSigner()
  const code = signer.sign(fields)
  t.match(code, /^[A-Za-z0-9_-]{86}$/)
  t.ok(signer.verify(fields, code))
  t.notOk(signer.verify({ ...fields, userId: 'u-b' }, code), 'another holder')
  t.notOk(signer.verify(fields, code.slice(0, -2)), 'truncated')
  const flipped = (code[0] === 'A' ? 'B' : 'A') + code.slice(1)
  t.notOk(signer.verify(fields, flipped), 'one character changed')
  t.notOk(signer.verify(fields, `${code}=`), 'padded')
  t.notOk(createCertificateSigner().verify(fields, code), 'another key')
})

t.test('canonical bytes do not depend on the order of scores', async (t) => {
  t.same(canonicalCertificate(fields), canonicalCertificate({ ...fields, scores: { 'u-a': 3, 'u-b': 1 } }))
})

t.test('a configured Ed25519 key signs reproducibly across signers', async (t) => {
  const pem = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()
  const a = createCertificateSigner(pem)
  const b = createCertificateSigner(pem)
  t.equal(a.sign(fields), b.sign(fields))
  t.equal(a.publicKeyPem, b.publicKeyPem)
  t.match(a.publicKeyPem, /BEGIN PUBLIC KEY/)
})

t.test('a bad key is refused naming the option', async (t) => {
  t.throws(() => createCertificateSigner('not a key'), { code: 'MATCHCAST_ERR_INVALID_OPTS', message: /certificates\.privateKey: not a PEM private key/ })
  const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()
  t.throws(() => createCertificateSigner(rsa), { message: /must be an Ed25519 key/ })
})
