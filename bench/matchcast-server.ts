/**
 * Child process of the fixed-rate fan-out bench and of the profiler: the demo server as
 * `npm start` runs it (server.ts `main`, configured by the environment the bench passes), alone
 * in its process so the CPU time and memory read from /proc are its own. Reports its port over IPC.
 * Messages: `stop` closes it and exits (so `--cpu-prof` writes its profile); `clock` answers the
 * monotonic clock in µs, the time base of a `.cpuprofile`'s samples.
 */
import { main } from '../server.js'

const app = await main(process.env, () => {})
process.on('message', (message: string) => {
  if (message === 'stop') app.close().then(() => process.exit(0), () => process.exit(1))
  if (message === 'clock') process.send!({ type: 'clock', us: Number(process.hrtime.bigint() / 1000n) })
})
// Never outlive the bench that started it.
process.on('disconnect', () => process.exit(1))
process.send!({ type: 'ready', port: (app.server.address() as { port: number }).port })
