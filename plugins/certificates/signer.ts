/**
 * Certificate codes: an Ed25519 signature over a certificate's canonical bytes, base64url. A changed
 * or truncated code fails verification; verifying needs only the public key, which the server
 * publishes (`GET /.well-known/matchcast/certificate-key`), so anyone can check a certificate
 * without asking the server. What is signed is documented in the README ("Checking a certificate
 * offline"); keep the two in step.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type JsonWebKey, type KeyObject } from 'node:crypto'
import type { Certificate } from '../../schemas/common.js'
import { InvalidOptionsError } from '../../lib/errors.js'

/** What a signature covers: everything a certificate states. */
export type CertificateFields = Pick<Certificate, 'id' | 'tournamentId' | 'tournamentName' | 'matchId' | 'userId' | 'scores' | 'names' | 'issuer' | 'issuedAt'>

/** The first element of the signed array: names the format, so no other signed message reads as a certificate. */
export const CANONICAL_TAG = 'matchcast-certificate/2'

/** A record as `[key, value]` pairs sorted by key, so the bytes do not depend on insertion order. */
const pairs = (record: Record<string, unknown>) => Object.keys(record).sort().map((key) => [key, record[key]])

/**
 * The signed bytes: UTF-8 of `JSON.stringify` of an array of the fields in a fixed order. A
 * certificate without `names` was issued before names were signed, and keeps its first format
 * (no tag, no names, no issuer) so it still verifies.
 */
export function canonicalCertificate (c: CertificateFields): Buffer {
  const scores = pairs(c.scores)
  if (c.names === undefined) return Buffer.from(JSON.stringify([c.id, c.tournamentId, c.tournamentName, c.matchId, c.userId, scores, c.issuedAt]))
  return Buffer.from(JSON.stringify([CANONICAL_TAG, c.id, c.tournamentId, c.tournamentName, c.matchId, c.userId, scores, pairs(c.names), c.issuer ?? null, c.issuedAt]))
}

export interface CertificateSigner {
  /** The verification code of a certificate. */
  sign (fields: CertificateFields): string
  /** Whether `code` is this signer's signature over `fields`, in canonical base64url. */
  verify (fields: CertificateFields, code: string): boolean
  /** The public key (SPKI PEM), for verifying elsewhere. */
  readonly publicKeyPem: string
  /** The public key as a JWK (`kty: OKP`, `crv: Ed25519`). */
  readonly jwk: JsonWebKey & { kty: 'OKP', crv: 'Ed25519', x: string }
  /** The key's RFC 7638 thumbprint (SHA-256, base64url): names it across rotations. */
  readonly keyId: string
}

/**
 * A signer from an Ed25519 private key in PEM; without one, a fresh key pair is generated
 * (codes then verify only on this process: fine for the demo, not for a cluster).
 */
export function createCertificateSigner (privateKeyPem?: string): CertificateSigner {
  let privateKey: KeyObject
  if (privateKeyPem === undefined) {
    privateKey = generateKeyPairSync('ed25519').privateKey
  } else {
    try {
      privateKey = createPrivateKey(privateKeyPem)
    } catch {
      throw new InvalidOptionsError('certificates.privateKey: not a PEM private key')
    }
    if (privateKey.asymmetricKeyType !== 'ed25519') throw new InvalidOptionsError('certificates.privateKey: must be an Ed25519 key')
  }
  const publicKey = createPublicKey(privateKey)
  const { x } = publicKey.export({ format: 'jwk' }) as { x: string }
  // RFC 7638: the required members, in lexicographic order, without whitespace.
  const keyId = createHash('sha256').update(JSON.stringify({ crv: 'Ed25519', kty: 'OKP', x })).digest('base64url')
  return {
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    jwk: { kty: 'OKP', crv: 'Ed25519', x },
    keyId,
    sign: (fields) => sign(null, canonicalCertificate(fields), privateKey).toString('base64url'),
    verify: (fields, code) => {
      const signature = Buffer.from(code, 'base64url')
      // An Ed25519 signature is exactly 64 bytes, and a code is its one canonical encoding: a
      // truncated, padded or re-encoded (standard base64) code is not the code.
      return signature.length === 64 && signature.toString('base64url') === code &&
        verify(null, canonicalCertificate(fields), publicKey, signature)
    }
  }
}
