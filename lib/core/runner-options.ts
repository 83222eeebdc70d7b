import type { Knex } from 'knex'
import { stripUndefined } from './strip-undefined.ts'
import type { Dialect } from '../dialects/dialect.ts'
import type { RunOptions } from './context.ts'
import type { EvolveEmitter } from './events.ts'
import type { Migration } from './migration.ts'
import type { PacingOptions } from './pacing.ts'

/*
 * What a Runner is given, and how its pace is settled from that and the dialect. Apart from the
 * Runner (runner.ts) so the option rules read on their own, and so serve-run.ts can take the
 * options without importing the class.
 */

export interface RunnerOptions extends Partial<RunOptions> {
  knex: Knex
  migrations: Migration[]
  /** Workers in this process. Default 1. */
  workers?: number
  /** Who this runner is in the runs' history (`status` shows it). Default `runner <host>:<pid>`. */
  by?: string
  /** Where events go; by default the Runner's own. */
  events?: EvolveEmitter
  /** Every migration of this run in snapshot mode (`'snapshot'`) or in place (`'online'`), whatever its file says; default: as each file says. */
  mode?: 'online' | 'snapshot'
}

/** The dialect's batch durations, unless the caller set one: then that one, whoever else writes. */
export function dialectPace(dialect: Dialect, config: RunnerOptions): Partial<PacingOptions> {
  if (config.targetBatchMs !== undefined) return { quietTargetBatchMs: config.quietTargetBatchMs }
  return stripUndefined({ targetBatchMs: dialect.targetBatchMs, quietTargetBatchMs: dialect.quietTargetBatchMs })
}
