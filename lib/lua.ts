import { existsSync, readFileSync } from 'node:fs'

/**
 * Reads a Lua script of a plugin once, at load. `moduleUrl` is the plugin module's
 * `import.meta.url` and `folder` the plugin's folder under `plugins/` (e.g. `broadcast`): the
 * script sits in `lua/` next to the module when run from source, and under the package's
 * `plugins/<folder>/lua/` when run from `dist/plugins/<folder>/` (Lua is not compiled).
 */
export function readLua (moduleUrl: string, folder: string, name: string): string {
  const here = new URL(`./lua/${name}.lua`, moduleUrl)
  return readFileSync(existsSync(here) ? here : new URL(`../../../plugins/${folder}/lua/${name}.lua`, moduleUrl), 'utf8')
}
