#!/usr/bin/env node
/**
 * What `npm start` runs first: the demo server's modules as plain JavaScript under `.start/`, so
 * that `npm start` runs them with `node` alone. Running TypeScript through tsx costs the server
 * process tsx's loader thread and transforms (some 40 MiB), and a launcher process besides.
 * esbuild only strips the types (`npm run typecheck` checks them): about a second, and nothing
 * when none of the files of the last build changed since.
 *
 * `.start/` mirrors the package's `dist/`: each module the bin reaches (static and dynamic imports
 * alike) at its path in the repository, the demo seed beside server.js, the board's page and its
 * bundled script in `web/`. Lua scripts are read from `plugins/<name>/lua/` as from `dist/` (lib/lua.ts).
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
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

if (stale()) {
  const { build } = await import('esbuild')
  const common = { absWorkingDir: root, metafile: true, logLevel: 'warning' }
  // The import graph of the bin, packages left out: which modules to write.
  const graph = await build({ ...common, entryPoints: ['bin/matchcast.ts'], bundle: true, packages: 'external', platform: 'node', format: 'esm', write: false })
  const modules = Object.keys(graph.metafile.inputs)
  await build({
    ...common,
    entryPoints: modules,
    outdir: '.start',
    outbase: '.',
    platform: 'node',
    format: 'esm',
    target: 'node20',
    // Stack traces in TypeScript lines with NODE_OPTIONS=--enable-source-maps (not the default: it costs memory).
    sourcemap: true
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
  writeFileSync(record, `${JSON.stringify([...modules, ...Object.keys(board.metafile.inputs), ...COPIED, 'package.json', 'tsconfig.json'])}\n`)
}
