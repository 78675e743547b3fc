/**
 * Open WebSocket connections per IP address on this instance, counted from the upgrade request
 * until its socket closes (a socket that upgrades stays the connection's socket). Per instance on
 * purpose: what it protects, sockets and file descriptors, belongs to the process.
 */
export class OpenConnections {
  readonly #byIp = new Map<string, number>()
  readonly #max: number

  constructor (max: number) {
    this.#max = max
  }

  /** Counts `socket` against `ip` until it closes; `false` (nothing counted) when `ip` already holds the maximum. */
  open (ip: string, socket: { once (event: 'close', listener: () => void): unknown }): boolean {
    const held = this.#byIp.get(ip) ?? 0
    if (held >= this.#max) return false
    this.#byIp.set(ip, held + 1)
    socket.once('close', () => {
      const left = this.#byIp.get(ip)! - 1
      if (left === 0) this.#byIp.delete(ip)
      else this.#byIp.set(ip, left)
    })
    return true
  }
}
