import { randomUUID } from 'node:crypto'
import type { FastifyPluginAsync } from 'fastify'
import fp from 'fastify-plugin'
import { Type, type Static } from 'typebox'
import { namespace } from '../../lib/namespace.js'
import { parseOptions, type OptionsInput } from '../../lib/options.js'
import { Text, type Certificate } from '../../schemas/common.js'
import { shortCodeOf } from './codes.js'
import { createCertificateSigner, type CertificateFields, type CertificateSigner } from './signer.js'

export const CertificatesOptions = Type.Object({
  /** Ed25519 private key (PEM) that signs certificate codes. @default a key generated at start (codes verify on this process only) */
  privateKey: Type.Optional(Type.String({ minLength: 1 })),
  /**
   * Public base URL of matchcast's routes (e.g. `https://api.example.com`), printed on certificates
   * and encoded in their QR code as `<publicUrl>/certificates/verify/<short code>`.
   * @default derived from each download request (its protocol, host and route prefix)
   */
  publicUrl: Type.Optional(Type.String({ pattern: '^https?://[^\\s?#]+$', maxLength: 200 })),
  /** Who issues the certificates: printed on them and signed with them. @default 'matchcast' */
  issuer: Text({ minLength: 1, maxLength: 100, default: 'matchcast' })
}, { additionalProperties: false })
export type CertificatesOptions = Static<typeof CertificatesOptions>

/** Where verification stands: a valid signature, a valid but revoked certificate, or no such certificate. */
export type CertificateStatus = 'valid' | 'revoked' | 'invalid'

/** `app.matchcast.certificates`: issues signed certificates and checks them. */
export interface Certificates {
  readonly signer: CertificateSigner
  /** Who issues them (`certificates.issuer`). */
  readonly issuer: string
  /** `certificates.publicUrl` without a trailing slash, when configured. */
  readonly publicUrl: string | undefined
  /** A new certificate (of this issuer, with `id` or a fresh one) with its codes; storing it is the caller's part. */
  issue (fields: Omit<CertificateFields, 'id' | 'issuer'> & { id?: string }): Certificate
  /** Whether `certificate.code` is a valid signature over the certificate's fields. */
  verify (certificate: Certificate): boolean
  /** The status of a certificate a code named (`undefined`: none). */
  status (certificate: Certificate | undefined): CertificateStatus
}

declare module '../../lib/namespace.js' {
  interface MatchcastNamespace {
    /** matchcast-certificates */
    certificates: Certificates
  }
}

/** The signed part of a certificate: what it states, without its codes and its revocation. */
export function signedFields (c: Certificate): CertificateFields {
  return {
    id: c.id,
    tournamentId: c.tournamentId,
    tournamentName: c.tournamentName,
    matchId: c.matchId,
    userId: c.userId,
    scores: c.scores,
    ...(c.names !== undefined && { names: c.names }),
    ...(c.issuer !== undefined && { issuer: c.issuer }),
    issuedAt: c.issuedAt
  }
}

export function createCertificates (signer: CertificateSigner, options: { issuer?: string, publicUrl?: string } = {}): Certificates {
  const issuer = options.issuer ?? 'matchcast'
  const verify = (certificate: Certificate) => signer.verify(signedFields(certificate), certificate.code)
  return {
    signer,
    issuer,
    publicUrl: options.publicUrl?.replace(/\/+$/, ''),
    issue ({ id = randomUUID(), ...fields }) {
      const signed = { id, ...fields, issuer }
      const code = signer.sign(signed)
      return { ...signed, code, shortCode: shortCodeOf(code) }
    },
    verify,
    status (certificate) {
      if (certificate === undefined || !verify(certificate)) return 'invalid'
      return certificate.revokedAt === undefined ? 'valid' : 'revoked'
    }
  }
}

const plugin: FastifyPluginAsync<OptionsInput<CertificatesOptions>> = async (app, rawOptions) => {
  const { privateKey, ...options } = parseOptions(CertificatesOptions, rawOptions, 'certificates')
  namespace(app).certificates = createCertificates(createCertificateSigner(privateKey), options)
}

/** Winner certificates: issuing, signing and checking them (`app.matchcast.certificates`). */
export const matchcastCertificates = fp(plugin, { name: 'matchcast-certificates', fastify: '5.x', dependencies: [], decorators: {} })
export default matchcastCertificates
