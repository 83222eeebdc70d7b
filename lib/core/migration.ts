import type { Knex } from 'knex'
import type { AnyRow, BatchContext } from '../api/define-migration.ts'

export type EvolveMode = 'transform' | 'set' | 'up'

/** A loaded, validated migration with every default filled in. */
export interface Migration {
  name: string
  file: string
  /** sourceHash of the file as it was loaded (lib/core/definition.ts); undefined for a migration built in code. */
  sourceHash?: string
  description: string | null
  table: string
  /** One column, or several for a composite key (compared as a row value, in this order). */
  key: string | string[]
  /** transform/up read only the key and these columns; undefined = every column. */
  columns?: string[]
  mode: EvolveMode
  pending?: (query: Knex.QueryBuilder) => Knex.QueryBuilder | void
  transform?: (row: AnyRow) => AnyRow | null | undefined | Promise<AnyRow | null | undefined>
  set?: Record<string, (knex: Knex) => Knex.Raw | Knex.Value>
  up?: (rows: AnyRow[], ctx: BatchContext) => Promise<void> | void
  batchSize: number
  lockTimeoutMs: number
  statementTimeoutMs: number
  maxAttempts: number
  maxFailures: number
  sweeps: number
  /** `mode: 'readonly'` in the file: the runner keeps the table read-only for the app while it runs. */
  readOnly?: boolean
  /** What the app's users are told while a readonly or snapshot run refuses their writes (the file's `readOnlyMessage`). */
  readOnlyMessage?: string
  /** Snapshot-and-swap instead of evolving the live rows (file field `mode: 'snapshot'`; lib/core/snapshot). */
  snapshot?: boolean
  /** Snapshot mode: checks the evolved copy (`table` is the copy's name) before it is swapped in; false or a throw stops the swap. */
  verify?: (knex: Knex, table: string) => unknown
}

export const MIGRATION_DEFAULTS = {
  key: 'id',
  batchSize: 1000,
  lockTimeoutMs: 1000,
  statementTimeoutMs: 30_000,
  maxAttempts: 50,
  maxFailures: 100,
  sweeps: 3,
} as const

/** Whether `m` runs in snapshot mode: the file's `mode`, unless a run asks for one mode for all (`--mode`). */
export const inSnapshotMode = (m: Migration, mode?: 'online' | 'snapshot'): boolean =>
  mode === undefined ? m.snapshot === true : mode === 'snapshot'
