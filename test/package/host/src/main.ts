import { build } from './app.js'

const app = await build()
const address = await app.listen({ port: 0, host: '127.0.0.1' })
const token = app.jwt.sign({ sub: 'u-org', scope: ['matches'] }, { expiresIn: '1h' })
process.stdout.write(`${JSON.stringify({ address, token })}\n`)
process.once('SIGTERM', () => { app.close().then(() => process.exit(0), () => process.exit(1)) })
