import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import t from 'tap'
import { COMMAND_TYPES as TABLE_COMMANDS, EVENT_TYPES as TABLE_EVENTS, TERMINAL_EVENTS, WS_ERRORS as FRAME_ERRORS } from '../../schemas/messages.js'
import {
  AbnormalClosure, CloseCode, closeCodeByName, closeCodeByNumber, COMMAND_TYPES, EVENT_TYPES, TERMINAL_EVENT_TYPES, WS_ERROR_CODES, WS_ERRORS
} from '../../protocol/index.js'

t.test('close codes by number and by snake_case name, with their advice', async (t) => {
  t.equal(closeCodeByNumber(4009), CloseCode.rateLimited)
  t.equal(closeCodeByName('rate_limited'), CloseCode.rateLimited)
  t.equal(CloseCode.rateLimited.code, 4009)
  t.equal(closeCodeByNumber(1006), AbnormalClosure, '1006 is observed by clients, never sent')
  t.equal(closeCodeByName('abnormal_closure')?.reconnect, 'after-backoff')
  t.equal(closeCodeByName('message_too_big')?.code, 1009)
  t.equal(closeCodeByNumber(4000), undefined)
  t.equal(closeCodeByName('rateLimited'), undefined, 'names are the wire spelling')
  t.equal(closeCodeByName('toString'), undefined, 'no prototype keys')
  for (const entry of Object.values(CloseCode)) {
    t.equal(closeCodeByNumber(entry.code), entry)
    t.ok(entry.reason === '' || entry.reason === entry.name, `${entry.code}: a sent reason is its name`)
    t.ok(entry.advice.length > 0 && entry.when.length > 0, `${entry.code} has advice`)
    t.ok(Buffer.byteLength(entry.reason) <= 123, 'a reason fits a close frame')
  }
})

t.test('the browser-safe lists agree with the protocol tables', async (t) => {
  t.same([...COMMAND_TYPES], TABLE_COMMANDS)
  t.same([...EVENT_TYPES], TABLE_EVENTS)
  t.same([...TERMINAL_EVENT_TYPES].sort(), [...TERMINAL_EVENTS].sort())
  t.equal(WS_ERRORS, FRAME_ERRORS)
  t.same(WS_ERROR_CODES, Object.keys(WS_ERRORS))
})

t.test('bundles for a browser with no server code, Node built-in or TypeBox in its graph', async (t) => {
  const result = await build({
    entryPoints: [fileURLToPath(new URL('../../protocol/index.ts', import.meta.url))],
    bundle: true,
    platform: 'browser',
    format: 'esm',
    write: false,
    metafile: true,
    logLevel: 'silent'
  })
  t.same(result.errors, [])
  const inputs = Object.keys(result.metafile.inputs)
  t.same(inputs.filter((path) => !path.startsWith('protocol/')), [], 'only protocol/ is bundled')
  const code = result.outputFiles[0]!.text
  t.match(code, /rate_limited/)
  t.notMatch(code, /typebox|node:|prom-client/)
})
