import { createPublicKey, generateKeyPairSync, verify } from 'node:crypto'
import t from 'tap'
import { createCertificates, signedFields } from '../../../plugins/certificates/index.js'
import { CANONICAL_TAG, canonicalCertificate, createCertificateSigner, type CertificateFields } from '../../../plugins/certificates/signer.js'

const fields = {
  id: 'c1',
  tournamentId: 't1',
  tournamentName: 'Кубок',
  matchId: 'm1',
  userId: 'u-a',
  scores: { 'u-b': 1, 'u-a': 3 },
  names: { 'u-b': 'Bob', 'u-a': 'Алиса' },
  issuer: 'League',
  issuedAt: '2026-01-01T00:00:00.000Z'
}

t.test('a code verifies for its fields and for nothing else', async (t) => {
  const signer = createCertificateSigner()
  const code = signer.sign(fields)
  t.match(code, /^[A-Za-z0-9_-]{86}$/)
  t.ok(signer.verify(fields, code))
  for (const [what, changed] of [
    ['another holder', { userId: 'u-b' }],
    ['another name', { names: { ...fields.names, 'u-a': 'Alice' } }],
    ['another issuer', { issuer: 'Other' }],
    ['another score', { scores: { ...fields.scores, 'u-b': 2 } }],
    ['no names (the first format)', { names: undefined }]
  ] as const) t.notOk(signer.verify({ ...fields, ...changed } as CertificateFields, code), what)
  t.notOk(signer.verify(fields, code.slice(0, -2)), 'truncated')
  const flipped = (code[0] === 'A' ? 'B' : 'A') + code.slice(1)
  t.notOk(signer.verify(fields, flipped), 'one character changed')
  t.notOk(signer.verify(fields, `${code}=`), 'padded')
  t.notOk(signer.verify(fields, Buffer.from(code, 'base64url').toString('base64')), 're-encoded as standard base64')
  t.notOk(createCertificateSigner().verify(fields, code), 'another key')
})

t.test('the signed bytes: a tagged JSON array, records as sorted pairs, so key order does not matter', async (t) => {
  t.equal(canonicalCertificate(fields).toString('utf8'),
    JSON.stringify([CANONICAL_TAG, 'c1', 't1', 'Кубок', 'm1', 'u-a', [['u-a', 3], ['u-b', 1]], [['u-a', 'Алиса'], ['u-b', 'Bob']], 'League', '2026-01-01T00:00:00.000Z']))
  t.same(canonicalCertificate(fields), canonicalCertificate({ ...fields, scores: { 'u-a': 3, 'u-b': 1 }, names: { 'u-a': 'Алиса', 'u-b': 'Bob' } }))
  const { names: _names, issuer: _issuer, ...legacy } = fields
  t.equal(canonicalCertificate(legacy).toString(), JSON.stringify(['c1', 't1', 'Кубок', 'm1', 'u-a', [['u-a', 3], ['u-b', 1]], '2026-01-01T00:00:00.000Z']),
    'a certificate issued before names were signed keeps its first format')
  t.equal(JSON.parse(canonicalCertificate({ ...fields, issuer: undefined } as unknown as CertificateFields).toString())[8], null)
})

t.test('a configured Ed25519 key signs reproducibly across signers; its public key and thumbprint are published', async (t) => {
  const pem = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()
  const a = createCertificateSigner(pem)
  const b = createCertificateSigner(pem)
  t.equal(a.sign(fields), b.sign(fields))
  t.equal(a.publicKeyPem, b.publicKeyPem)
  t.match(a.publicKeyPem, /BEGIN PUBLIC KEY/)
  t.equal(a.keyId, b.keyId)
  t.match(a.jwk, { kty: 'OKP', crv: 'Ed25519', x: /^[A-Za-z0-9_-]{43}$/ })
  t.ok(verify(null, canonicalCertificate(fields), createPublicKey({ key: a.jwk, format: 'jwk' }), Buffer.from(a.sign(fields), 'base64url')))
  t.not(createCertificateSigner().keyId, a.keyId)
})

t.test('a bad key is refused naming the option', async (t) => {
  t.throws(() => createCertificateSigner('not a key'), { code: 'MATCHCAST_ERR_INVALID_OPTS', message: /certificates\.privateKey: not a PEM private key/ })
  const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()
  t.throws(() => createCertificateSigner(rsa), { message: /must be an Ed25519 key/ })
})

t.test('issue, verify and status: revocation does not touch the signature; a changed certificate is invalid', async (t) => {
  const certificates = createCertificates(createCertificateSigner(), { issuer: 'League', publicUrl: 'https://x.example/api//' })
  t.equal(certificates.publicUrl, 'https://x.example/api')
  t.equal(createCertificates(createCertificateSigner()).issuer, 'matchcast')
  const { id: _id, issuer: _issuer, ...rest } = fields
  const issued = certificates.issue(rest)
  t.match(issued, { ...rest, issuer: 'League', id: /^[0-9a-f-]{36}$/ })
  t.equal(certificates.issue({ ...rest, id: 'c-9' }).id, 'c-9')
  t.same(signedFields(issued), { ...rest, id: issued.id, issuer: 'League' })
  t.equal(certificates.status(issued), 'valid')
  t.equal(certificates.status({ ...issued, revokedAt: '2026-02-01T00:00:00.000Z', revokedReason: 'x' }), 'revoked')
  t.equal(certificates.status({ ...issued, tournamentName: 'Other' }), 'invalid')
  t.equal(certificates.status(undefined), 'invalid')
})
