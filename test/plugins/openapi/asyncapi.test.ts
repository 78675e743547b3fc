import { Parser } from '@asyncapi/parser'
import t from 'tap'
import { Value } from 'typebox/value'
import { COMMAND_TYPES, Commands } from '../../../schemas/commands.js'
import { EVENT_TYPES, MatchEvents } from '../../../schemas/events.js'
import { ServerFrame } from '../../../schemas/frames.js'
import { COMMAND_EXAMPLES, EVENT_EXAMPLES, FRAME_EXAMPLES } from '../../../plugins/openapi/examples.js'
import { startApp } from '../../helper.js'

t.test('<docs>/asyncapi.json is a valid AsyncAPI 3 document of every command, event and frame', async (t) => {
  const { app } = await startApp(t)
  const res = await app.inject({ url: '/docs/asyncapi.json', headers: { host: 'api.example.com' } })
  t.equal(res.statusCode, 200)
  const doc = res.json()
  const parser = new Parser()
  const { document, diagnostics } = await parser.parse(doc)
  t.same(diagnostics.filter((d) => d.severity === 0).map((d) => `${d.path.join('.')}: ${d.message}`), [], 'no error')
  t.ok(document, 'parsed')
  t.equal(document!.version(), '3.0.0')
  t.same(document!.channels().all().map((c) => c.address()).sort(), ['/ws/matches/{matchId}', '/ws/tournaments/{tournamentId}'])
  t.same(doc.servers.matchcast, { host: 'api.example.com', protocol: 'ws', pathname: '/', security: [{ $ref: '#/components/securitySchemes/bearer' }] })
  const names = Object.keys(doc.components.messages)
  for (const type of COMMAND_TYPES) t.ok(names.includes(type.replace('.', '_')), `command ${type}`)
  for (const type of EVENT_TYPES) t.ok(names.includes(type), `event ${type}`)
  t.match(doc.channels.matchRoom.description, /\| 4009 \| `rate_limited` \|/, 'the close codes with their advice')
  const sends = document!.operations().filterBySend().map((o) => o.id())
  t.equal(sends.length, COMMAND_TYPES.length + 1, 'one send per command, and ping in the tournament room')
  t.same(document!.operations().get('matchRoom.match.start')!.reply()!.messages().all().map((m) => m.name()), ['ack', 'error'])
})

t.test('every example in the document is a valid frame', async (t) => {
  for (const type of COMMAND_TYPES) t.ok(Value.Check(Commands[type], COMMAND_EXAMPLES[type]), type)
  for (const type of EVENT_TYPES) t.ok(Value.Check(MatchEvents[type], EVENT_EXAMPLES[type]), type)
  for (const [name, frame] of Object.entries(FRAME_EXAMPLES)) t.ok(Value.Check(ServerFrame, frame), name)
})

t.test('behind TLS the server is wss; each Host is built once', async (t) => {
  const { app } = await startApp(t, {}, undefined, { trustProxy: true })
  const headers = { host: 'live.example.com', 'x-forwarded-proto': 'https' }
  const first = await app.inject({ url: '/docs/asyncapi.json', headers })
  t.equal(first.json().servers.matchcast.protocol, 'wss')
  t.equal((await app.inject({ url: '/docs/asyncapi.json', headers })).body, first.body)
  for (let i = 0; i < 20; i++) t.equal((await app.inject({ url: '/docs/asyncapi.json', headers: { host: `h${i}.example.com` } })).statusCode, 200)
})
