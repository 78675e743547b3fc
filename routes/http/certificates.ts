/**
 * Certificates: JSON and PDF for the holder and organizers, the tournament's list for organizers,
 * and the public side: verification of a code (JSON for API clients, a page for people) and the
 * public key that lets anyone check a certificate offline.
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifyPluginAsync, FastifyRequest } from 'fastify'
import Negotiator from 'negotiator'
import { Type } from 'typebox'
import { NotFoundError } from '../../lib/errors.js'
import { FULL_CODE, parseShortCode } from '../../plugins/certificates/codes.js'
import { verificationPage } from '../../plugins/certificates/page.js'
import { renderCertificatePdf } from '../../plugins/certificates/pdf.js'
import { CANONICAL_TAG } from '../../plugins/certificates/signer.js'
import type { Certificate } from '../../schemas/common.js'
import { CertificateKey, CertificateList, CertificateParams, PdfDocument, VerifyParams, VerifyResponse, errors } from '../../schemas/http.js'
import { TournamentParams } from '../../schemas/params.js'
import type { RouteContext } from './access.js'

export const KEY_PATH = '/.well-known/matchcast/certificate-key'
const DOWNLOAD_PATH = '/certificates/:certificateId/download'

/** What the verify route answers with, by the request's `Accept` (JSON unless HTML is preferred). */
const MEDIA_TYPES = ['application/json', 'text/html']

/** The page allows nothing but its own inline styles and images. */
const PAGE_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

const certificates: FastifyPluginAsync<RouteContext> = async (instance, ctx) => {
  const app = instance.withTypeProvider<TypeBoxTypeProvider>()
  const { timedStore: store, certificates } = app.matchcast
  const { config, secured, bearer, userOf, requireOrganizer, tournamentAsOrganizer } = ctx
  const { signer } = certificates
  const key: CertificateKey = {
    algorithm: 'Ed25519',
    keyId: signer.keyId,
    publicKeyPem: signer.publicKeyPem,
    jwk: { ...signer.jwk, kid: signer.keyId, alg: 'EdDSA', use: 'sig' },
    signedBytes: `The UTF-8 bytes of JSON.stringify([${JSON.stringify(CANONICAL_TAG)}, id, tournamentId, tournamentName, matchId, userId, ` +
      'scores as [userId, score] pairs, names as [userId, name] pairs, issuer, issuedAt]), pairs sorted by user id; ' +
      '`code` is the Ed25519 signature of those bytes, base64url.'
  }

  /** The certificate, readable by its holder and the tournament's organizers. */
  async function readable (certificateId: string, userId: string): Promise<Certificate> {
    const certificate = await store.getCertificate(certificateId)
    if (certificate === undefined) throw new NotFoundError(`certificate ${certificateId} does not exist`)
    if (certificate.userId !== userId) await requireOrganizer(certificate.tournamentId, userId)
    return certificate
  }

  /** The certificate a full or a short code names; anything else names none. */
  async function byCode (code: string): Promise<Certificate | undefined> {
    if (FULL_CODE.test(code)) return store.getCertificateByCode(code)
    const shortCode = parseShortCode(code)
    return shortCode === undefined ? undefined : store.getCertificateByShortCode(shortCode)
  }

  /** Where this app's routes are public: `certificates.publicUrl`, else this request's origin and route prefix. */
  function publicBase (request: FastifyRequest): string {
    if (certificates.publicUrl !== undefined) return certificates.publicUrl
    const prefix = request.routeOptions.url!.slice(0, -DOWNLOAD_PATH.length)
    return `${request.protocol}://${request.host}${prefix}`
  }

  app.get('/certificates/verify/:code', {
    config,
    schema: {
      summary: 'Verify a certificate code (public)',
      description: 'The code is the short code printed on the certificate or its full code (its Ed25519 signature). ' +
        'JSON by default; an HTML page for a request that prefers `text/html` (a browser that followed the QR code). ' +
        'A code that was changed, truncated or re-encoded names no certificate: `valid: false`, `status: invalid`. ' +
        'A genuine certificate whose result was overturned after a dispute is `status: revoked`.',
      tags: ['certificates'],
      security: [],
      params: VerifyParams,
      response: {
        200: {
          description: 'Whether the code names a certificate that stands: JSON, or a page for people.',
          content: { 'application/json': { schema: VerifyResponse }, 'text/html': { schema: Type.String() } }
        },
        ...errors([400, 429])
      }
    }
  }, async (request, reply) => {
    const { code } = request.params
    const certificate = await byCode(code)
    const status = certificates.status(certificate)
    reply.header('vary', 'accept').header('cache-control', 'no-cache')
    if (new Negotiator(request.raw).mediaType(MEDIA_TYPES) === 'text/html') {
      // Relative, so it holds under any route prefix: /certificates/verify/<code> → /.well-known/…
      const page = verificationPage(status, certificate, { code, keyUrl: `../..${KEY_PATH}` })
      return reply.type('text/html; charset=utf-8').header('content-security-policy', PAGE_POLICY).send(page)
    }
    return reply.type('application/json; charset=utf-8').send({ valid: status === 'valid', status, ...(status !== 'invalid' && { certificate }) })
  })

  app.get(KEY_PATH, {
    config,
    schema: {
      summary: 'The public key that signs certificate codes (public)',
      description: 'With it, anyone can check a certificate without this server: verify `code` (the Ed25519 signature) over the bytes `signedBytes` describes.',
      tags: ['certificates'],
      security: [],
      response: { 200: CertificateKey, ...errors([429]) }
    }
  }, async (_request, reply) => reply.header('cache-control', 'public, max-age=3600').send(key))

  app.get('/tournaments/:tournamentId/certificates', {
    ...secured,
    schema: {
      summary: 'The tournament\'s certificates, in the order they were issued',
      description: 'Organizers only. Revoked certificates are listed too, with `revokedAt` and `revokedReason`.',
      tags: ['certificates'],
      security: bearer,
      params: TournamentParams,
      response: { 200: CertificateList, ...errors([400, 401, 403, 404, 429]) }
    }
  }, async (request) => {
    const { tournamentId } = request.params
    await tournamentAsOrganizer(tournamentId, userOf(request))
    return { certificates: await store.listCertificates(tournamentId) }
  })

  app.get('/certificates/:certificateId', {
    ...secured,
    schema: {
      summary: 'A certificate, with its verification codes',
      description: 'Readable by the holder and the tournament\'s organizers.',
      tags: ['certificates'],
      security: bearer,
      params: CertificateParams,
      response: { 200: Type.Ref('Certificate', { description: 'The certificate.' }), ...errors([400, 401, 403, 404, 429]) }
    }
  }, async (request) => readable(request.params.certificateId, userOf(request)))

  app.get(DOWNLOAD_PATH, {
    ...secured,
    schema: {
      summary: 'A certificate as PDF',
      description: 'A landscape page to print or share: the winner, the match, the tournament, the final score, the date and the issuer, ' +
        'with a QR code of its public verification page and its short code; `certificate.json` is attached for checking it offline. ' +
        'A revoked certificate is stamped as such. Readable by the holder and the tournament\'s organizers.',
      tags: ['certificates'],
      security: bearer,
      params: CertificateParams,
      response: {
        200: { description: 'The certificate as a PDF document.', content: { 'application/pdf': { schema: PdfDocument } } },
        ...errors([400, 401, 403, 404, 429])
      }
    }
  }, async (request, reply) => {
    const certificate = await readable(request.params.certificateId, userOf(request))
    const pdf = await renderCertificatePdf(certificate, { verifyUrl: `${publicBase(request)}/certificates/verify/${certificate.shortCode}` })
    return reply.type('application/pdf')
      .header('content-disposition', `attachment; filename="certificate-${certificate.id}.pdf"`)
      .send(pdf)
  })
}

export default certificates
