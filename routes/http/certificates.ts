/** Certificates: JSON and PDF for the holder and organizers, and the public verification of a code. */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifyPluginAsync } from 'fastify'
import { Type } from 'typebox'
import { NotFoundError } from '../../lib/errors.js'
import { renderCertificatePdf } from '../../plugins/certificates/pdf.js'
import type { Certificate } from '../../schemas/common.js'
import { CertificateParams, PdfDocument, VerifyParams, VerifyResponse, errors } from '../../schemas/http.js'
import type { RouteContext } from './access.js'

const certificates: FastifyPluginAsync<RouteContext> = async (instance, ctx) => {
  const app = instance.withTypeProvider<TypeBoxTypeProvider>()
  const { timedStore: store, certificates } = app.matchcast
  const { config, secured, bearer, userOf, requireOrganizer } = ctx

  /** The certificate, readable by its holder and the tournament's organizers. */
  async function readable (certificateId: string, userId: string): Promise<Certificate> {
    const certificate = await store.getCertificate(certificateId)
    if (certificate === undefined) throw new NotFoundError(`certificate ${certificateId} does not exist`)
    if (certificate.userId !== userId) await requireOrganizer(certificate.tournamentId, userId)
    return certificate
  }

  app.get('/certificates/verify/:code', {
    config,
    schema: {
      summary: 'Verify a certificate code (public)',
      description: 'A code is an Ed25519 signature over the certificate; a changed or truncated code is `valid: false`.',
      tags: ['certificates'],
      security: [],
      params: VerifyParams,
      response: { 200: VerifyResponse, ...errors(400) }
    }
  }, async (request) => {
    const certificate = await store.getCertificateByCode(request.params.code)
    return certificate !== undefined && certificates.verify(certificate) ? { valid: true, certificate } : { valid: false }
  })

  app.get('/certificates/:certificateId', {
    ...secured,
    schema: {
      summary: 'A certificate, with its verification code',
      description: 'Readable by the holder and the tournament\'s organizers.',
      tags: ['certificates'],
      security: bearer,
      params: CertificateParams,
      response: { 200: Type.Ref('Certificate', { description: 'The certificate.' }), ...errors(400, 401, 403, 404) }
    }
  }, async (request) => readable(request.params.certificateId, userOf(request)))

  app.get('/certificates/:certificateId/download', {
    ...secured,
    schema: {
      summary: 'A certificate as PDF',
      description: 'Tournament, match, winner, date and verification code, on one page. Readable by the holder and the tournament\'s organizers.',
      tags: ['certificates'],
      security: bearer,
      params: CertificateParams,
      response: {
        200: { description: 'The certificate as a PDF document.', content: { 'application/pdf': { schema: PdfDocument } } },
        ...errors(400, 401, 403, 404)
      }
    }
  }, async (request, reply) => {
    const certificate = await readable(request.params.certificateId, userOf(request))
    const pdf = await renderCertificatePdf(certificate, { verifyUrl: `${request.protocol}://${request.host}/certificates/verify/` })
    return reply.type('application/pdf')
      .header('content-disposition', `attachment; filename="certificate-${certificate.id}.pdf"`)
      .send(Buffer.from(pdf.buffer, pdf.byteOffset, pdf.byteLength))
  })
}

export default certificates
