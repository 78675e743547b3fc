import type { IncomingMessage } from 'node:http'
import fastifyJwt from '@fastify/jwt'
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { Type, type Static } from 'typebox'
import { InvalidOptionsError, UnauthorizedError } from '../../lib/errors.js'
import { namespace } from '../../lib/namespace.js'
import { parseOptions } from '../../lib/options.js'
import { kQueryToken } from '../../lib/symbols.js'
import { BEARER_PROTOCOL, SUBPROTOCOL } from '../../protocol/index.js'

export { SUBPROTOCOL }
export const DEFAULT_CLOCK_TOLERANCE_MS = 5000

export const AuthOptions = Type.Object({
  /**
   * HS256 shared secret, or whatever `@fastify/jwt` accepts as `secret` (e.g. `{ public, private }`).
   * Required, unless the host registered its own `@fastify/jwt` (its secret then verifies tokens).
   */
  secret: Type.Optional(Type.Union([Type.String({ minLength: 1 }), Type.Object({ public: Type.Unknown(), private: Type.Optional(Type.Unknown()) })])),
  /** The one algorithm tokens must use. `none` is never accepted. @default 'HS256' */
  algorithm: Type.Union(['HS256', 'HS384', 'HS512', 'RS256', 'RS384', 'RS512', 'ES256', 'ES384', 'ES512', 'PS256', 'PS384', 'PS512', 'EdDSA'].map((a) => Type.Literal(a)), { default: 'HS256' }),
  /** Required `iss` claim, when set. */
  issuer: Type.Optional(Type.String()),
  /** Required `aud` claim, when set. */
  audience: Type.Optional(Type.String()),
  /** Tokens must carry `exp`: a token without one would be accepted forever. @default true */
  requireExp: Type.Boolean({ default: true }),
  /** Clock skew allowed between the token issuer and this server, in ms: `exp` may be this far past, `iat` and `nbf` this far ahead. @default 5000 */
  clockToleranceMs: Type.Integer({ minimum: 0, maximum: 300_000, default: DEFAULT_CLOCK_TOLERANCE_MS })
}, { additionalProperties: false })
export type AuthOptions = Static<typeof AuthOptions>

export interface Auth {
  /** HTTP `onRequest`/`preHandler` hook: authenticates the request (`userOf`) or answers 401. Leaves `request.user` to the host. */
  authenticate (request: FastifyRequest, reply: FastifyReply): Promise<void>
  /** The user id (`sub`) of a request `authenticate` let through; throws `MATCHCAST_ERR_AUTH_UNAUTHORIZED` for any other. */
  userOf (request: FastifyRequest): string
  /** The token of a request: `Authorization: Bearer`, then the `bearer.<jwt>` subprotocol, then `?token=`. */
  extractToken (request: FastifyRequest): string | undefined
  /** The user id (`sub`) of a valid token; throws `MATCHCAST_ERR_AUTH_UNAUTHORIZED` otherwise. */
  verify (token: string): string
}

declare module '../../lib/namespace.js' {
  interface MatchcastNamespace {
    /** matchcast-auth */
    auth: Auth
  }
}

/** A query parameter's name or value as Fastify's query parser reads it: `+` is a space, then percent-decoding (a malformed escape is left as it is). */
function decodeQueryPart (raw: string): string {
  const spaced = raw.replaceAll('+', ' ')
  try {
    return decodeURIComponent(spaced)
  } catch {
    return spaced
  }
}

/**
 * Moves the query token out of the URL before anything (Fastify's request log included) sees it;
 * the token is kept on the raw request under a symbol for `extractToken`. Parameters are matched
 * by their decoded name, as Fastify reads them: `?token=` and `?%74oken=` are the token (the first
 * one is used); every other spelling of the name in any case (`?TOKEN=`, `?%54oken=`) is removed
 * too, but not accepted. Other parameters stay exactly as sent.
 */
export function stripQueryToken (req: IncomingMessage): void {
  const url = req.url!
  const q = url.indexOf('?')
  // A name that decodes to "token" holds those letters or percent-escapes of them.
  if (q === -1 || !/token|%/i.test(url.slice(q + 1))) return
  const pairs = url.slice(q + 1).split('&')
  const kept: string[] = []
  let token: string | undefined
  for (const pair of pairs) {
    const eq = pair.indexOf('=')
    const name = decodeQueryPart(eq === -1 ? pair : pair.slice(0, eq))
    if (name.toLowerCase() !== 'token') kept.push(pair)
    else if (name === 'token') token ??= eq === -1 ? '' : decodeQueryPart(pair.slice(eq + 1))
  }
  if (kept.length === pairs.length) return
  if (token !== undefined) (req as IncomingMessage & { [kQueryToken]?: string })[kQueryToken] = token
  req.url = url.slice(0, q) + (kept.length === 0 ? '' : `?${kept.join('&')}`)
}

function fromSubprotocol (header: string | undefined): string | undefined {
  if (header === undefined) return undefined
  const entry = header.split(',').map((p) => p.trim()).find((p) => p.startsWith(BEARER_PROTOCOL))
  return entry?.slice(BEARER_PROTOCOL.length)
}

const plugin: FastifyPluginAsync<Partial<AuthOptions>> = async (app, rawOptions) => {
  const options = parseOptions(AuthOptions, rawOptions, 'auth')
  // Every verification pins the algorithm (and iss/aud when set), even on a host's own @fastify/jwt.
  const verifyOptions = {
    algorithms: [options.algorithm],
    ...(options.issuer !== undefined && { allowedIss: options.issuer }),
    ...(options.audience !== undefined && { allowedAud: options.audience }),
    // fast-jwt applies the tolerance to exp and nbf (not to a future iat: checked in `verify`).
    clockTolerance: options.clockToleranceMs,
    // fast-jwt checks exp/iss/aud only when present; a required or configured one must also be present.
    requiredClaims: ['sub', ...(options.requireExp ? ['exp'] : []), ...(options.issuer !== undefined ? ['iss'] : []), ...(options.audience !== undefined ? ['aud'] : [])]
  }
  if (!app.hasDecorator('jwt')) {
    if (options.secret === undefined) throw new InvalidOptionsError('auth.secret: required (unless the host registers its own @fastify/jwt first)')
    await app.register(fastifyJwt, {
      secret: options.secret as string,
      sign: { algorithm: options.algorithm, ...(options.issuer !== undefined && { iss: options.issuer }), ...(options.audience !== undefined && { aud: options.audience }) },
      verify: verifyOptions
    })
  }
  // Runs before @fastify/websocket's and Fastify's own listeners, so the query token is never logged.
  app.server.prependListener('request', stripQueryToken)
  app.server.prependListener('upgrade', stripQueryToken)
  app.addHook('onClose', async () => {
    app.server.removeListener('request', stripQueryToken)
    app.server.removeListener('upgrade', stripQueryToken)
  })

  const verify = (token: string): string => {
    let payload: { sub?: unknown, iat?: unknown }
    try {
      // Read as plain claims: the host's own `FastifyJWT` typing (if any) is its business.
      payload = app.jwt.verify<{ sub?: unknown, iat?: unknown }>(token, verifyOptions)
    } catch (err) {
      throw new UnauthorizedError((err as Error).message)
    }
    if (typeof payload.sub !== 'string' || payload.sub === '') throw new UnauthorizedError('token has no sub claim')
    // A token issued in the future (beyond the clock skew) was signed by a wrong clock or forged to outlive its `exp`.
    if (payload.iat !== undefined && !(typeof payload.iat === 'number' && payload.iat * 1000 <= Date.now() + options.clockToleranceMs)) {
      throw new UnauthorizedError('token iat is not a time in the past')
    }
    return payload.sub
  }

  const extractToken = (request: FastifyRequest): string | undefined => {
    const header = request.headers.authorization
    if (header !== undefined && /^bearer /i.test(header)) return header.slice(7).trim()
    const fromProtocol = fromSubprotocol(request.headers['sec-websocket-protocol'])
    if (fromProtocol !== undefined) return fromProtocol
    return (request.raw as IncomingMessage & { [kQueryToken]?: string })[kQueryToken]
  }

  // The user of each authenticated request, beside it rather than on it: `request.user` is the host's.
  const users = new WeakMap<FastifyRequest, string>()
  const auth: Auth = {
    extractToken,
    verify,
    async authenticate (request) {
      const token = extractToken(request)
      if (token === undefined) throw new UnauthorizedError('missing bearer token')
      users.set(request, verify(token))
    },
    userOf (request) {
      const userId = users.get(request)
      if (userId === undefined) throw new UnauthorizedError('request not authenticated')
      return userId
    }
  }
  namespace(app).auth = auth
}

/** JWT authentication for HTTP routes and WebSocket upgrades. */
export const matchcastAuth = fp(plugin, { name: 'matchcast-auth', fastify: '5.x', dependencies: [], decorators: {} })
export default matchcastAuth
