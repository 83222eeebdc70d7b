import type { Knex } from 'knex'
import type { Dialect } from '../../dialects/dialect.ts'
import type { Store } from '../../store/store.ts'
import type { EvolveEmitter } from '../events.ts'
import type { Migration } from '../migration.ts'
import type { RunProgress } from '../progress.ts'

/** What a snapshot run's driver works with (run-snapshot.ts), and each of its steps (steps.ts). */
export interface SnapshotContext {
  knex: Knex
  store: Store
  dialect: Dialect
  events: EvolveEmitter
  by: string
  /** The worker this process serves the run as (registered, so that others can tell it lives): the snapshot's driver. */
  workerId: string
  signal: AbortSignal
  /** Evolves the copy with the Runner's worker loop (large batches, no throttle); its final progress. */
  evolve(inner: Migration): Promise<RunProgress>
}
