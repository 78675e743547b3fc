#!/usr/bin/env node
/**
 * What `npm start` runs first: the demo server's sources as plain JavaScript under `.start/`, so
 * that `npm start` runs them with `node` alone. Running TypeScript through tsx costs the process
 * its loader thread and the transform (some 35 MiB) and a launcher process besides. esbuild only
 * strips the types (`npm run typecheck` checks them): about a second, and nothing when no source
 * changed since the last start.
 *
 * `.start/` mirrors the package's `dist/` layout: modules at the paths they have in the repository,
 * the demo seed beside server.js, the board's page and bundled script in `web/`; Lua scripts are
 * read from `plugins/<name>/lua/` as from `dist/` (lib/lua.ts).
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

const root = fileURLToPath(new URL('../', import.meta.url))
const out = join(root, '.start')
const stamp = join(out, '.built')
/** Folders of modules the server loads (web/ is the board's page, bundled for the browser). */
const FOLDERS = ['bin', 'client', 'demo', 'lib', 'plugins', 'protocol', 'routes', 'schemas', 'testing']

/** Every file under `dir`, recursively. */
function files (dir) {
  return readdirSync(join(root, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name)
    return entry.isDirectory() ? files(path) : [path]
  })
}

const sources = [...FOLDERS, 'web'].flatMap(files).concat(['index.ts', 'server.ts', 'package.json'])
const built = existsSync(stamp) ? statSync(stamp).mtimeMs : 0
if (sources.some((file) => statSync(join(root, file)).mtimeMs > built)) {
  const modules = sources.filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts') && !file.startsWith('web'))
  await build({
    entryPoints: modules.map((file) => join(root, file)),
    outdir: out,
    outbase: root,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    // Stack traces point at the TypeScript with NODE_OPTIONS=--enable-source-maps (which costs memory, so it is not the default).
    sourcemap: true,
    logLevel: 'warning'
  })
  mkdirSync(join(out, 'web'), { recursive: true })
  copyFileSync(join(root, 'demo/seed.json'), join(out, 'demo/seed.json'))
  for (const file of ['index.html', 'board.css']) copyFileSync(join(root, 'web', file), join(out, 'web', file))
  // As `npm run build` bundles it for dist/web/.
  await build({
    entryPoints: [join(root, 'web/board.ts')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    legalComments: 'none',
    outfile: join(out, 'web/board.js'),
    logLevel: 'warning'
  })
  writeFileSync(stamp, `${new Date().toISOString()}\n`)
}
