/** A WebSocket client for tests of a host that serves matchcast rooms. */
import WebSocket, { type ClientOptions } from 'ws'
import { Compile } from 'typebox/compile'
import { ServerFrame } from '../schemas/messages.js'

/** How long `next()` and `closeInfo()` wait by default, in ms. */
export const WAIT_MS = 2000

const checkFrame = Compile(ServerFrame)

/** How a socket closed. */
export interface Closed { code: number, reason: string }

/**
 * A real `ws` client of a room that collects frames and lets a test await them one by one; every
 * frame is checked against the server-frame schema (`invalid` lists those that fail, and every
 * binary frame: the protocol's frames are JSON text).
 */
export class Client {
  readonly ws: WebSocket
  readonly frames: unknown[] = []
  /** Frames that did not validate against the server-frame schema, or came as binary (should stay empty). */
  readonly invalid: unknown[] = []
  readonly closed: Promise<Closed>
  readonly opened: Promise<void>
  /** The HTTP status of a refused upgrade, when there was one. */
  readonly refused: Promise<number>
  #waiters: Array<() => void> = []
  #read = 0

  constructor (url: string, options: ClientOptions & { protocols?: string[] } = {}) {
    this.ws = new WebSocket(url, options.protocols ?? [], options)
    this.ws.on('message', (data, isBinary) => {
      const frame: unknown = JSON.parse(data.toString())
      if (isBinary || !checkFrame.Check(frame)) this.invalid.push(frame)
      this.frames.push(frame)
      for (const w of this.#waiters.splice(0)) w()
    })
    this.closed = new Promise((resolve) => {
      this.ws.on('close', (code, reason) => {
        resolve({ code, reason: reason.toString() })
        for (const w of this.#waiters.splice(0)) w()
      })
    })
    this.refused = new Promise((resolve) => this.ws.on('unexpected-response', (_req, res) => {
      resolve(res.statusCode!)
      res.resume()
      this.ws.terminate()
    }))
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve())
      this.ws.once('error', reject)
    })
    this.ws.on('error', () => {})
    // A refused or aborted handshake is an outcome tests assert on, not an unhandled rejection.
    this.opened.catch(() => {})
  }

  send (value: unknown): void {
    this.ws.send(typeof value === 'string' ? value : JSON.stringify(value))
  }

  /** The next frame not read yet; rejects after `WAIT_MS` or when the socket closes first. */
  async next<T = Record<string, unknown>> (ms = WAIT_MS): Promise<T> {
    const deadline = Date.now() + ms
    while (this.#read >= this.frames.length) {
      if (this.ws.readyState === WebSocket.CLOSED) throw new Error('socket closed while waiting for a frame')
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`no frame within ${ms} ms`)
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left)
        this.#waiters.push(() => { clearTimeout(timer); resolve() })
      })
    }
    return this.frames[this.#read++] as T
  }

  /** Frames received and not read yet. */
  get unread (): unknown[] { return this.frames.slice(this.#read) }

  /** Resolves with the close, or rejects after `WAIT_MS`. */
  async closeInfo (ms = WAIT_MS): Promise<Closed> {
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_resolve, reject) => { timer = setTimeout(() => reject(new Error(`not closed within ${ms} ms`)), ms) })
    try {
      return await Promise.race([this.closed, timeout])
    } finally {
      clearTimeout(timer)
    }
  }

  /** A round trip: sends `ping` and returns the `pong` (proves the connection is open and served in order). */
  async ping (): Promise<void> {
    this.send({ type: 'ping', id: 'rt' })
    for (;;) {
      const frame = await this.next()
      if (frame.type === 'pong' && frame.id === 'rt') return
    }
  }

  async close (): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return
    if (this.ws.readyState === WebSocket.CONNECTING) this.ws.terminate()
    else this.ws.close(1000)
    await this.closed
  }
}
