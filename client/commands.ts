/**
 * A room's commands until their reply: ids, the frames to (re)send on each new socket, settling by
 * the reply's id. A command whose reply was lost with its socket is sent again on the next one;
 * the server answers a repeated id with the remembered reply, so it is applied once.
 */
import type { ClientCommand } from '../schemas/commands.js'
import type { AckFrame, ErrorFrame, PongFrame } from '../schemas/frames.js'
import { MatchcastError } from './errors.js'

/** A command as the caller gives it: the SDK assigns its `id`. */
export type Command = ClientCommand extends infer C ? C extends ClientCommand ? Omit<C, 'id'> & { id?: never } : never : never

interface Pending {
  frame: string
  resolve: () => void
  reject: (err: MatchcastError) => void
  /** The socket (by number) it was last written to. */
  socket: number | undefined
  /** When it was first written to a socket. */
  firstSentAt: number | undefined
}

/** 16 random hex digits: commands of different clients never share an id. */
function randomPrefix (): string {
  return [...crypto.getRandomValues(new Uint8Array(8))].map((b) => b.toString(16).padStart(2, '0')).join('')
}

export class PendingCommands {
  readonly #pending = new Map<string, Pending>()
  readonly #prefix = randomPrefix()
  readonly #ttlMs: number
  #next = 0

  /** `ttlMs`: how long after its first send a command may still be sent again (the server's `commandIdTtlMs`). */
  constructor (ttlMs: number) {
    this.#ttlMs = ttlMs
  }

  get size (): number { return this.#pending.size }

  /** Registers a command; returns its id, its frame and the promise of its reply. */
  add (command: Command): { id: string, frame: string, reply: Promise<void> } {
    const id = `${this.#prefix}.${++this.#next}`
    const frame = JSON.stringify({ ...command, id })
    const reply = new Promise<void>((resolve, reject) => {
      this.#pending.set(id, { frame, resolve, reject, socket: undefined, firstSentAt: undefined })
    })
    return { id, frame, reply }
  }

  /** Marks command `id` as written to socket `socket` at `now`. */
  sent (id: string, socket: number, now: number): void {
    const p = this.#pending.get(id)!
    p.socket = socket
    p.firstSentAt ??= now
  }

  /**
   * The frames to write to a new socket, in the order they were first given, marked as written to
   * it. A command first sent more than `ttlMs` ago is rejected `expired` instead: the server may
   * have forgotten its id.
   */
  resend (socket: number, now: number): string[] {
    const frames: string[] = []
    for (const [id, p] of this.#pending) {
      if (p.firstSentAt !== undefined && now - p.firstSentAt > this.#ttlMs) {
        this.#settle(id, new MatchcastError('expired', 'the reply was lost and the command is too old to send again; it may or may not have been applied'))
        continue
      }
      p.socket = socket
      p.firstSentAt ??= now
      frames.push(p.frame)
    }
    return frames
  }

  /** Settles the command a reply answers; a reply to no pending command (e.g. a liveness `pong`) is ignored. */
  reply (frame: AckFrame | PongFrame | ErrorFrame): void {
    if (typeof frame.id !== 'string') return
    const error = frame.type === 'error'
      ? new MatchcastError(frame.code, frame.message, frame.details === undefined ? {} : { details: frame.details })
      : undefined
    this.#settle(frame.id, error)
  }

  /**
   * Rejects the first command written to `socket` that has no reply: the server handles a socket's
   * frames in order and answers each, so that is the frame it closed the socket for (4010, 1009).
   */
  rejectFirstUnanswered (socket: number, error: MatchcastError): void {
    for (const [id, p] of this.#pending) {
      if (p.socket === socket) return this.#settle(id, error)
    }
  }

  rejectAll (error: MatchcastError): void {
    for (const id of [...this.#pending.keys()]) this.#settle(id, error)
  }

  #settle (id: string, error: MatchcastError | undefined): void {
    const p = this.#pending.get(id)
    if (p === undefined) return
    this.#pending.delete(id)
    if (error === undefined) p.resolve()
    else p.reject(error)
  }
}
