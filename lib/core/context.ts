import type { Knex } from 'knex'
import type { Dialect, Presence } from '../dialects/dialect.ts'
import type { Store } from '../store/store.ts'
import type { EvolveEmitter } from './events.ts'
import { LEASE_MS } from './liveness.ts'
import type { Migration } from './migration.ts'
import { type BatchSizer, type PacingOptions, PACING_DEFAULTS } from './pacing.ts'
import type { ThrottleOptions } from './throttle.ts'
import type { Wakeup } from './wakeup.ts'

/** Knobs of the run loop that are not part of a migration file. */
export interface RunOptions extends PacingOptions, ThrottleOptions {
  /** A worker whose heartbeat is older than this is dead (the fallback when no faster proof exists). */
  leaseMs: number
  heartbeatMs: number
  /** How often an idle, paused or throttled worker looks again (without notifications). */
  pollMs: number
  /** Backoff between conflict retries. */
  retryMinMs: number
  retryMaxMs: number
  /** Fixes every migration's batch size (no adaptation). */
  batchSize?: number
}

export const RUN_DEFAULTS: RunOptions = {
  ...PACING_DEFAULTS,
  leaseMs: LEASE_MS,
  heartbeatMs: 1_000,
  pollMs: 250,
  retryMinMs: 50,
  retryMaxMs: 5_000,
}

/** Runs `fn` with its writes in `trx` let through read-only mode. */
export interface WriteBypass {
  <T>(trx: Knex.Transaction, fn: () => Promise<T>): Promise<T>
  /** The token it shows, for a dialect that sets the bypass in a batch's first statement (Dialect.batchSettings). */
  readonly token: string
}

/** What one worker needs to serve one run. */
export interface WorkerContext {
  knex: Knex
  dialect: Dialect
  store: Store
  migration: Migration
  events: EvolveEmitter
  workerId: string
  /** Who this runner is in the runs' history: `runner host:pid`. */
  by: string
  options: RunOptions
  /** Aborted when the process is asked to stop: finish the current batch, then leave. */
  signal: AbortSignal
  wakeup: Wakeup
  /**
   * Shared by the workers of one runner, where the dialect pauses after a batch (SQLite's
   * single writer lock): one worker's turn at a time (`busy`), and when the next may start
   * (`at`, performance.now() time: the last batch's end and `gap`, the pause owed after it).
   * Otherwise siblings would take the lock back to back. `othersWroteAt`: when another
   * connection was last seen to have written (Date.now() ms; see worker.ts). `quiet`: while set,
   * the runner's heartbeats wait for it (a batch's early read: prefetch.ts).
   */
  turn: { busy: boolean; at: number; gap: number; othersWroteAt: number; quiet?: Promise<void> }
  presence?: Presence
  /** Lets the batch's own writes through read-only mode (the database refuses the app's). */
  writeBypass?: WriteBypass
  /** The batch sizers of this runner's live workers, so an operator can change their size. */
  sizers?: Set<BatchSizer>
}
