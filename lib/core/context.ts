import type { Knex } from 'knex'
import type { Dialect } from '../dialects/dialect.ts'
import type { EvolveEmitter } from './events.ts'
import type { Migration } from './migration.ts'

/** Knobs of the run loop that are not part of a migration file. */
export interface RunOptions {
  /** A worker whose heartbeat is older than this is dead (other hosts; same-host deaths are seen at once). */
  leaseMs: number
  heartbeatMs: number
  /** How often an idle worker looks for work others may release. */
  pollMs: number
  /** Backoff between conflict retries. */
  retryMinMs: number
  retryMaxMs: number
  /** Overrides every migration's batchSize. */
  batchSize?: number
}

export const RUN_DEFAULTS: RunOptions = {
  leaseMs: 15_000,
  heartbeatMs: 1_000,
  pollMs: 250,
  retryMinMs: 50,
  retryMaxMs: 5_000,
}

/** What one worker needs to serve one run. */
export interface WorkerContext {
  knex: Knex
  dialect: Dialect
  migration: Migration
  events: EvolveEmitter
  workerId: string
  options: RunOptions
  /** Aborted when the process is asked to stop: finish the current batch, then leave. */
  signal: AbortSignal
}

export function batchSizeOf(ctx: WorkerContext): number {
  return ctx.options.batchSize ?? ctx.migration.batchSize
}
