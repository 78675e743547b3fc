/**
 * Certificate codes: an Ed25519 signature over a certificate's canonical fields, base64url.
 * A changed or truncated code fails verification; verifying needs only the public key.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto'
import type { Certificate } from '../../schemas/common.js'
import { InvalidOptionsError } from '../../lib/errors.js'

export type CertificateFields = Omit<Certificate, 'code'>

/** The signed bytes: fields in a fixed order, scores sorted by user id. */
export function canonicalCertificate (c: CertificateFields): Buffer {
  const scores = Object.keys(c.scores).sort().map((u) => [u, c.scores[u]])
  return Buffer.from(JSON.stringify([c.id, c.tournamentId, c.tournamentName, c.matchId, c.userId, scores, c.issuedAt]))
}

export interface CertificateSigner {
  /** The verification code of a certificate. */
  sign (fields: CertificateFields): string
  /** Whether `code` is this signer's signature over `fields`. */
  verify (fields: CertificateFields, code: string): boolean
  /** The public key (SPKI PEM), for verifying elsewhere. */
  readonly publicKeyPem: string
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
  return {
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    sign: (fields) => sign(null, canonicalCertificate(fields), privateKey).toString('base64url'),
    verify: (fields, code) => {
      const signature = Buffer.from(code, 'base64url')
      // An Ed25519 signature is exactly 64 bytes; anything else (e.g. a truncated code) is not one.
      return signature.length === 64 && signature.toString('base64url') === code &&
        verify(null, canonicalCertificate(fields), publicKey, signature)
    }
  }
}
