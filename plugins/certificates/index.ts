import { randomUUID } from 'node:crypto'
import type { FastifyPluginAsync } from 'fastify'
import fp from 'fastify-plugin'
import { Type, type Static } from 'typebox'
import { namespace } from '../../lib/namespace.js'
import { parseOptions, type OptionsInput } from '../../lib/options.js'
import type { Certificate } from '../../schemas/common.js'
import { createCertificateSigner, type CertificateFields, type CertificateSigner } from './signer.js'

export const CertificatesOptions = Type.Object({
  /** Ed25519 private key (PEM) that signs certificate codes. @default a key generated at start (codes verify on this process only) */
  privateKey: Type.Optional(Type.String({ minLength: 1 }))
}, { additionalProperties: false })
export type CertificatesOptions = Static<typeof CertificatesOptions>

/** `app.matchcast.certificates`: issues signed certificates and checks their codes. */
export interface Certificates {
  readonly signer: CertificateSigner
  /** A new certificate (fresh id) with its verification code; storing it is the caller's part. */
  issue (fields: Omit<CertificateFields, 'id'>): Certificate
  /** Whether `certificate.code` is a valid signature over the certificate's fields. */
  verify (certificate: Certificate): boolean
}

declare module '../../lib/namespace.js' {
  interface MatchcastNamespace {
    /** matchcast-certificates */
    certificates: Certificates
  }
}

export function createCertificates (signer: CertificateSigner): Certificates {
  return {
    signer,
    issue (fields) {
      const signed = { id: randomUUID(), ...fields }
      return { ...signed, code: signer.sign(signed) }
    },
    verify ({ code, ...fields }) {
      return signer.verify(fields, code)
    }
  }
}

const plugin: FastifyPluginAsync<OptionsInput<CertificatesOptions>> = async (app, rawOptions) => {
  const options = parseOptions(CertificatesOptions, rawOptions, 'certificates')
  namespace(app).certificates = createCertificates(createCertificateSigner(options.privateKey))
}

/** Winner certificates: issuing and signing (`app.matchcast.certificates`). */
export const matchcastCertificates = fp(plugin, { name: 'matchcast-certificates', fastify: '5.x', dependencies: [], decorators: {} })
export default matchcastCertificates
