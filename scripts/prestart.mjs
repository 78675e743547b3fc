#!/usr/bin/env node
/**
 * What `npm start` runs first: the demo server as plain JavaScript under `.start/`, so that
 * `npm start` runs it with `node` alone. Running TypeScript through tsx costs the server process
 * tsx's loader thread and transforms (some 40 MiB), and a launcher process besides. esbuild only
 * strips the types (`npm run typecheck` checks them): a second or two, and nothing when none of the
 * files of the last build changed since.
 *
 * The bin and what it loads at start are one bundle, `.start/bin/matchcast.js`, packages included:
 * one file to read and no module graph to resolve, and only the parts of each package that are
 * used (TypeBox alone is some 16 MiB as a module tree). What loads on first use (the PDF and its
 * fonts, the PostgreSQL driver, Redis) is split into chunks beside it, loaded as before when first
 * needed; packages that read files beside their own code stay in node_modules (`EXTERNAL`).
 *
 * `.start/` otherwise mirrors the package's `dist/`: the demo seed at `demo/seed.json`, the board's
 * page and its bundled script in `web/`, and Lua scripts read from `plugins/<name>/lua/`. Each of
 * our modules is given, as its `import.meta.url`, where it would lie in that mirror, so the paths it
 * builds from it (lib/lua.ts, server.ts, demo/board.ts) are those of `dist/`.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('../', import.meta.url))
const out = join(root, '.start')
/** The files the last build read, relative to the root; its modification time is the build's. */
const record = join(out, '.inputs.json')
const COPIED = ['demo/seed.json', 'web/index.html', 'web/board.css']

function stale () {
  if (!existsSync(record)) return true
  const builtAt = statSync(record).mtimeMs
  return JSON.parse(readFileSync(record, 'utf8')).some((file) => !existsSync(join(root, file)) || statSync(join(root, file)).mtimeMs > builtAt)
}

/**
 * Left to node_modules: what loads on first use, and what finds files beside its own code (pino
 * starts its transport, pino-pretty in a terminal, from a worker file of thread-stream's; esbuild,
 * which bundles the board when no built script is there, runs its binary from its folder).
 */
const EXTERNAL = ['@fastify/swagger', '@fastify/swagger-ui', '@fastify/static', 'pdfkit', 'fontkit', '@fontsource/*', 'uqr', 'pg', 'ioredis', '@fastify/redis',
  'pino', 'thread-stream', 'pino-pretty', 'esbuild']

/** Our modules (not packages): `import.meta.url` becomes the module's place in the `.start/` mirror. */
const mirrorUrls = {
  name: 'mirror-import-meta-url',
  setup (build) {
    build.onLoad({ filter: /\.ts$/ }, (args) => {
      if (args.path.includes('/node_modules/')) return undefined
      const source = readFileSync(args.path, 'utf8')
      const mirrored = relative(root, args.path).replace(/\.ts$/, '.js')
      return { contents: source.replaceAll('import.meta.url', `new URL(${JSON.stringify(mirrored)}, __start).href`), loader: 'ts' }
    })
  }
}

if (stale()) {
  const { build } = await import('esbuild')
  const common = { absWorkingDir: root, metafile: true, logLevel: 'warning' }
  rmSync(out, { recursive: true, force: true })
  const server = await build({
    ...common,
    entryPoints: ['bin/matchcast.ts'],
    bundle: true,
    splitting: true,
    outdir: '.start/bin',
    chunkNames: '[name]-[hash]',
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external: EXTERNAL,
    plugins: [mirrorUrls],
    // `__start`: the `.start/` folder. Packages' CommonJS code calls require() for Node's built-ins.
    banner: {
      js: "import { createRequire as __cjsRequire } from 'node:module';\n" +
        "const __start = new URL('../', import.meta.url); const require = __cjsRequire(import.meta.url);"
    },
    // Stack traces in TypeScript lines with NODE_OPTIONS=--enable-source-maps (not the default: it costs memory).
    sourcemap: true,
    sourcesContent: false,
    minifyWhitespace: true,
    minifySyntax: true
  })
  // The board's script, as `npm run build` bundles it for dist/web/.
  const board = await build({
    ...common,
    entryPoints: ['web/board.ts'],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    legalComments: 'none',
    outfile: '.start/web/board.js'
  })
  mkdirSync(join(out, 'demo'), { recursive: true })
  for (const file of COPIED) copyFileSync(join(root, file), join(out, file))
  writeFileSync(record, `${JSON.stringify([...Object.keys(server.metafile.inputs), ...Object.keys(board.metafile.inputs), ...COPIED, 'package.json', 'tsconfig.json', 'scripts/prestart.mjs'])}\n`)
}
