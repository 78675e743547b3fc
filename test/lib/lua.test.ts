import { readFileSync } from 'node:fs'
import t from 'tap'
import { readLua } from '../../lib/lua.js'

const source = (folder: string, name: string) => readFileSync(new URL(`../../plugins/${folder}/lua/${name}.lua`, import.meta.url), 'utf8')

t.test('a script is read next to its module when run from source', async (t) => {
  const moduleUrl = new URL('../../plugins/broadcast/redis-broker.ts', import.meta.url).href
  t.equal(readLua(moduleUrl, 'broadcast', 'publish'), source('broadcast', 'publish'))
})

t.test('a script is read from the package\'s plugins/<folder>/lua when run from dist/', async (t) => {
  const moduleUrl = new URL('../../dist/plugins/rate-limit/redis-store.js', import.meta.url).href
  t.equal(readLua(moduleUrl, 'rate-limit', 'take'), source('rate-limit', 'take'))
})
