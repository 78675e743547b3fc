#!/usr/bin/env node
/** `npx matchcast` starts the demo server; `npx matchcast token <userId>` prints a token for it. */
import { cli } from '../server.js'

/* c8 ignore start -- the process entry point: its behaviour is `cli`'s, tested directly and through the packed bin */
const result = await cli(process.argv.slice(2), process.env, (line) => process.stdout.write(`${line}\n`),
  (line) => process.stderr.write(`${line}\n`), { pretty: process.stdout.isTTY }).catch((err: unknown) => {
  process.stderr.write(`matchcast: ${(err as Error).message}\n`)
  return 1
})
if (typeof result === 'number') process.exitCode = result
else for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => { result.close().then(() => process.exit(0), () => process.exit(1)) })
/* c8 ignore stop */
