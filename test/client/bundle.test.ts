/**
 * matchcast/client bundles for the browser: esbuild (`platform: 'browser'`) reports no error and no
 * warning, and nothing but the SDK's own modules and the protocol tables it shares with the server
 * (`protocol/`, plain data) is in the bundle (the schema imports are types only; no Node built-in,
 * no server code, no dependency).
 */
import { build } from 'esbuild'
import { gzipSync } from 'node:zlib'
import t from 'tap'

t.test('the SDK bundles for browsers with zero errors and zero warnings, from its own modules and the protocol tables only', async (t) => {
  const result = await build({
    entryPoints: [new URL('../../client/index.ts', import.meta.url).pathname],
    bundle: true,
    platform: 'browser',
    format: 'esm',
    minify: true,
    write: false,
    metafile: true,
    logLevel: 'silent'
  })
  t.same(result.errors, [])
  t.same(result.warnings, [])
  const inputs = Object.keys(result.metafile.inputs)
  t.ok(inputs.length > 0)
  t.same(inputs.filter((path) => !/^(client|protocol)\/[a-z-]+\.ts$/.test(path)), [], 'only client/*.ts and protocol/*.ts')
  const code = result.outputFiles[0]!.text
  t.match(code, /export\{/)
  t.comment(`bundle: ${code.length} B minified, ${gzipSync(code).length} B gzipped`)
})
