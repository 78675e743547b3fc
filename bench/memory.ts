/** Memory per idle connection: the server runs in a child process; this process holds the clients. */
import { fork } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import WebSocket from 'ws'
import { pool } from './util.js'

interface Memory { rss: number, heapUsed: number, connections: number }

export async function benchMemory (connections = 2000): Promise<{ connections: number, bytesPerConnectionHeap: number, bytesPerConnectionRss: number }> {
  const child = fork(fileURLToPath(new URL('./memory-server.ts', import.meta.url)), [String(connections)], {
    execArgv: ['--expose-gc', '--import', 'tsx'],
    stdio: ['ignore', 'ignore', 'inherit', 'ipc']
  })
  const [ready] = await once(child, 'message') as [{ port: number, tokens: string[] }]
  const measure = async (): Promise<Memory> => {
    child.send('measure')
    const [m] = await once(child, 'message') as [Memory]
    return m
  }
  // Warm up code paths with one connection, so the baseline is not charged for JIT and lazy init.
  const warm = new WebSocket(`ws://127.0.0.1:${ready.port}/ws/matches/m0`, { headers: { authorization: `Bearer ${ready.tokens[0]!}` } })
  await once(warm, 'message')
  warm.close()
  await once(warm, 'close')
  const before = await measure()
  const sockets: WebSocket[] = []
  await pool(ready.tokens.map((token, i) => [token, i] as const), 50, async ([token, i]) => {
    const ws = new WebSocket(`ws://127.0.0.1:${ready.port}/ws/matches/m${i % 10}`, { headers: { authorization: `Bearer ${token}` }, perMessageDeflate: false })
    sockets.push(ws)
    await once(ws, 'message')
  })
  const after = await measure()
  for (const ws of sockets) ws.terminate()
  child.send('stop')
  await once(child, 'exit')
  return {
    connections: after.connections,
    bytesPerConnectionHeap: Math.round((after.heapUsed - before.heapUsed) / connections),
    bytesPerConnectionRss: Math.round((after.rss - before.rss) / connections)
  }
}
