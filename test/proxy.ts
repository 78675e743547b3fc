/**
 * A loopback TCP proxy for fault tests: it forwards each connection to a target port (chosen per
 * connection, so clients can be switched to another instance), and can cut connections (at once,
 * or after a per-connection byte budget, mid-frame), stall them (bytes silently dropped, the
 * connection left open: a dead network path) or hold a new one back for a while (a slow network).
 */
import { once } from 'node:events'
import { createServer, connect, type Server, type Socket } from 'node:net'
import type { TapLike } from './helper.js'

interface Link {
  client: Socket
  upstream: Socket
  stalled: boolean
}

export interface ProxyOptions {
  /** The port each new connection is forwarded to. */
  target: () => number
  /** Bytes a new connection may carry (both ways) before it is cut; `Infinity` or absent: never. */
  budget?: () => number
  /** Milliseconds the `n`th connection (from 1) waits before it is forwarded; absent: none. */
  delay?: (n: number) => number
}

export class TcpProxy {
  readonly #server: Server
  readonly #links = new Set<Link>()
  readonly #held = new Map<NodeJS.Timeout, Socket>()
  readonly #options: ProxyOptions
  /** Connections accepted, and connections cut by their budget. */
  connections = 0
  cuts = 0

  constructor (options: ProxyOptions) {
    this.#options = options
    this.#server = createServer((client) => this.#accept(client))
  }

  /** Listens on a free loopback port; closed at teardown. Returns `ws://127.0.0.1:<port>`. */
  async listen (t: TapLike): Promise<string> {
    this.#server.listen(0, '127.0.0.1')
    await once(this.#server, 'listening')
    t.teardown(() => this.close())
    return `ws://127.0.0.1:${(this.#server.address() as { port: number }).port}`
  }

  #accept (client: Socket): void {
    this.connections++
    const delay = this.#options.delay?.(this.connections) ?? 0
    if (delay === 0) return this.#forward(client)
    // Unread, the client's bytes wait in its socket until the link is made.
    client.on('error', () => {})
    const timer = setTimeout(() => {
      this.#held.delete(timer)
      this.#forward(client)
    }, delay)
    this.#held.set(timer, client)
  }

  #forward (client: Socket): void {
    const upstream = connect(this.#options.target(), '127.0.0.1')
    const link: Link = { client, upstream, stalled: false }
    this.#links.add(link)
    let budget = this.#options.budget?.() ?? Infinity
    const forward = (from: Socket, to: Socket) => from.on('data', (chunk: Buffer) => {
      if (link.stalled) return
      if (chunk.length < budget) {
        budget -= chunk.length
        to.write(chunk)
        return
      }
      // Out of budget: the part that fits gets through, then the connection is cut mid-stream.
      this.cuts++
      link.stalled = true
      to.end(chunk.subarray(0, budget))
      from.destroy()
    })
    forward(client, upstream)
    forward(upstream, client)
    for (const socket of [client, upstream]) {
      socket.on('error', () => {})
      socket.on('close', () => {
        client.destroy()
        upstream.destroy()
        this.#links.delete(link)
      })
    }
  }

  /** Cuts every open connection now (both sides see the TCP connection end, no closing handshake). */
  cutAll (): void {
    for (const { client, upstream } of this.#links) {
      client.destroy()
      upstream.destroy()
    }
  }

  /** Stalls every open connection: nothing more goes through either way, and nothing closes it. */
  stallAll (): void {
    for (const link of this.#links) link.stalled = true
  }

  async close (): Promise<void> {
    for (const [timer, client] of this.#held) {
      clearTimeout(timer)
      client.destroy()
    }
    this.#held.clear()
    this.cutAll()
    if (!this.#server.listening) return
    const closed = once(this.#server, 'close')
    this.#server.close()
    await closed
  }
}
