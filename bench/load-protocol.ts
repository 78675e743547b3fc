/**
 * The messages between the fixed-rate fan-out bench (bench/fixed-rate.ts, bench/profile.ts) and
 * its load generator (bench/load.ts), over the generator's IPC channel: `init` opens the sockets,
 * each `run` answers with one `StepResult` per measured window.
 */
import type { Summary } from './util.js'

export interface Workload { name: string, matches: string[], socketsPerMatch: number, userPrefix: string }
export interface LoadInit { type: 'init', ports: number[], commandPort: number, secret: string, organizer: string, workloads: Workload[], pids: number[] }
export interface RunRequest {
  type: 'run'
  workload: string
  /** Commands per second per match, one measured window each. */
  rates: number[]
  warmupMs: number
  windowMs: number
  /** At most; it ends earlier once every receipt is in or nothing has arrived for a while (QUIET_MS in load.ts). */
  drainMs: number
  /** Stop after the first rate that does not keep up (see `ok`). */
  stopOnFail: boolean
  /** Try a rate that did not keep up once more (both windows are reported). */
  retryFailed: boolean
  p99LimitMs: number
}
export interface StepResult {
  rate: number
  matches: number
  /** Sockets per match that receive each event: the watchers and the organizer's. */
  receivers: number
  windowMs: number
  commands: number
  acked: number
  errors: number
  /** Updates at least one socket received. */
  events: number
  /** Updates no socket had received by the end of the drain. */
  unseen: number
  /** Receipts of this window's updates, and per second of the window. */
  deliveries: number
  deliveriesPerSecond: number
  /**
   * Event frames and acks the servers sent while the CPU window was open, by their own count
   * (/metrics, read just outside the window): what that CPU time paid for, even when they lag.
   */
  serverDeliveries: number
  serverAcks: number
  /** Receipts missing at the end of the drain, of the updates some socket received. */
  lost: number
  gaps: number
  resyncs: number
  closed: number
  latencyMs: Summary
  /** How far the generator fell behind its schedule, at most. */
  maxLagMs: number
  /** CPU time of each server pid, and the generator's, over the window. */
  cpuMs: number[]
  generatorCpuMs: number
  /** Kept up: p99 within the limit, and nothing lost, skipped, unseen, refused or closed. */
  ok: boolean
  firstError?: string
}
