/**
 * The live match board of the demo server (SPEC section 11): the page at `/`, its script (built
 * from `web/board.ts` with the `matchcast/client` SDK bundled in) and the demo-only sign-in
 * routes. The matchcast plugins never mint tokens; only this demo does, for its seed's members.
 */
import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { TypeBoxValidatorCompiler, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifyPluginAsync, FastifyReply } from 'fastify'
import { Type, type Static } from 'typebox'
import { InvalidOptionsError, NotFoundError } from '../lib/errors.js'
import { parseOptions } from '../lib/options.js'
import { lazySerializers } from '../lib/serializers.js'
import { rateLimited } from '../plugins/rate-limit/index.js'
import { errorHandler } from '../routes/http/error-handler.js'
import type { Role, Seed } from '../schemas/common.js'
import { BoardConfig, TokenRequest, TokenResponse, type DemoUser } from './board-config.js'

/** The page's folder: `web/` beside this folder (in the repository and in `dist/`). */
export const WEB_DIR = fileURLToPath(new URL('../web/', import.meta.url))
/** Lifetime of a demo token: the page asks for a fresh one before every (re)connect. */
export const DEFAULT_TOKEN_TTL_S = 3600

export const BoardOptions = Type.Object({
  /** The demo seed: who may sign in, with which roles. */
  seed: Type.Unsafe<Seed>(Type.Object({}, { additionalProperties: true })),
  /** Offer `POST /demo/token`. Off, the page says sign-in is disabled. */
  signIn: Type.Boolean(),
  /** Folder of `index.html`, `board.css` and `board.js` (prebuilt) or `board.ts` (bundled at start). @default WEB_DIR */
  dir: Type.String({ minLength: 1, default: WEB_DIR }),
  /**
   * Where matchcast's routes are mounted (its `prefix`); the page opens its rooms under
   * `<matchcastPrefix>/ws/`. (Not `prefix`: Fastify reads that one as this plugin's own.) @default ''
   */
  matchcastPrefix: Type.String({ pattern: '^(/[^/?#]+)*$', default: '' }),
  /** Lifetime of the tokens `POST /demo/token` mints, in seconds (at least 60). @default 3600 */
  tokenTtlS: Type.Integer({ minimum: 60, default: DEFAULT_TOKEN_TTL_S })
}, { additionalProperties: false })
export type BoardOptions = Static<typeof BoardOptions>

const ROLE_ORDER: Readonly<Record<Role, number>> = { organizer: 0, participant: 1, spectator: 2 }

/** The seed's members as sign-in choices: one entry per user, organizers first, then by id. */
export function demoUsers (seed: Seed): DemoUser[] {
  const names = new Map((seed as Seed & { users?: Array<{ id: string, name?: string }> }).users?.map((u) => [u.id, u.name]) ?? [])
  const users = new Map<string, DemoUser>()
  for (const m of seed.members) {
    let user = users.get(m.userId)
    if (user === undefined) users.set(m.userId, user = { id: m.userId, name: names.get(m.userId) ?? m.userId, memberships: [] })
    user.memberships.push({ tournamentId: m.tournamentId, role: m.role })
  }
  const rank = (u: DemoUser): number => Math.min(...u.memberships.map((m) => ROLE_ORDER[m.role]))
  return [...users.values()].sort((a, b) => rank(a) - rank(b) || (a.id < b.id ? -1 : 1))
}

/**
 * The page's script: `board.js` when the folder has one (a built package), else `board.ts`
 * bundled with esbuild once per process (a development dependency, so only a checkout builds it).
 */
export async function boardScript (dir: string): Promise<string> {
  const prebuilt = join(dir, 'board.js')
  if (existsSync(prebuilt)) return await readFile(prebuilt, 'utf8')
  let bundle = bundles.get(dir)
  if (bundle === undefined) {
    bundle = bundleScript(join(dir, 'board.ts'))
    bundles.set(dir, bundle)
    // A failed build is not kept: the next start of an app tries again.
    bundle.catch(() => bundles.delete(dir))
  }
  return await bundle
}

/** Bundles built by this process, by folder: every app of the process serves the same page. */
const bundles = new Map<string, Promise<string>>()

async function bundleScript (entry: string): Promise<string> {
  const { build } = await import('esbuild')
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    target: ['es2022'],
    minify: true,
    legalComments: 'none',
    logLevel: 'silent'
  })
  if (result.warnings.length > 0) throw new Error(`${entry}: ${result.warnings.map((w) => w.text).join('; ')}`)
  return result.outputFiles[0]!.text
}

/** The page may load only its own script and style and talk only to its own origin. */
const PAGE_CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

/**
 * The board: `GET /` (the page), `/board.js`, `/board.css`, `GET /demo/config` (the seed's users
 * and tournaments, whether sign-in is on, where the rooms are) and, when `signIn`, `POST
 * /demo/token {userId}` → `{token, expiresIn}` for a member of the seed. Needs `@fastify/jwt`
 * (matchcast-auth) and matchcast-rate-limit.
 */
export const demoBoard: FastifyPluginAsync<Partial<BoardOptions> & Pick<BoardOptions, 'seed' | 'signIn'>> = async (instance, rawOptions) => {
  const options = parseOptions(BoardOptions, rawOptions, 'board')
  const app = instance.withTypeProvider<TypeBoxTypeProvider>()
  app.setErrorHandler(errorHandler)
  app.setValidatorCompiler(TypeBoxValidatorCompiler)
  lazySerializers(app)

  const [html, css, js] = await Promise.all([
    readFile(join(options.dir, 'index.html'), 'utf8'),
    readFile(join(options.dir, 'board.css'), 'utf8'),
    boardScript(options.dir)
  ])
  const users = demoUsers(options.seed)
  const members = new Set(users.map((u) => u.id))
  const config: BoardConfig = { signIn: options.signIn, prefix: options.matchcastPrefix, tournaments: options.seed.tournaments, users }

  const page = (type: string, body: string) => async (_request: unknown, reply: FastifyReply) =>
    reply.type(type).header('cache-control', 'no-cache').header('x-content-type-options', 'nosniff').send(body)
  app.get('/', { schema: { hide: true } }, async (request, reply) => {
    reply.header('content-security-policy', PAGE_CSP).header('referrer-policy', 'no-referrer')
    return await page('text/html; charset=utf-8', html)(request, reply)
  })
  app.get('/board.js', { schema: { hide: true } }, page('text/javascript; charset=utf-8', js))
  app.get('/board.css', { schema: { hide: true } }, page('text/css; charset=utf-8', css))
  app.get('/demo/config', { schema: { hide: true, response: { 200: BoardConfig } } }, async () => config)

  if (!options.signIn) return
  // Fail at boot, not at the first sign-in: minting and limiting come from matchcast's plugins.
  for (const decorator of ['jwt', 'rateLimit']) {
    if (!app.hasDecorator(decorator)) throw new InvalidOptionsError(`board.signIn: needs matchcast registered first (no ${decorator} decorator)`)
  }
  app.post('/demo/token', {
    config: rateLimited(),
    schema: { hide: true, body: TokenRequest, response: { 200: TokenResponse } }
  }, async (request, reply) => {
    const { userId } = request.body
    if (!members.has(userId)) throw new NotFoundError(`user ${userId} is not a member of the demo seed`)
    reply.header('cache-control', 'no-store')
    return { token: app.jwt.sign({ sub: userId }, { expiresIn: options.tokenTtlS }), expiresIn: options.tokenTtlS }
  })
}
export default demoBoard
