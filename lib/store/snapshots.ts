import type { Dialect } from '../dialects/dialect.ts'
import { type Db, num, numOrNull } from './db.ts'
import { TABLES } from './schema.ts'

/**
 * Where a snapshot-and-swap stands: the step it is doing now (or `done`, `reverted`,
 * `cleaned` at the end). The order is SNAPSHOT_STEPS in lib/core/snapshot/names.ts.
 */
export type SnapshotStep =
  'preflight' | 'read-only' | 'copy' | 'build' | 'evolve' | 'verify' | 'swap' | 'validate' | 'read-write' | 'done' | 'reverted' | 'cleaned'

export interface SnapshotRow {
  id: number
  runName: string
  table: string
  shadow: string
  backup: string
  step: SnapshotStep
  cursor: string | null
  copied: number
  total: number | null
  readOnlyAt: number | null
  readWriteAt: number | null
  swappedAt: number | null
  swapMarker: string | null
  error: string | null
  updatedAt: number
}

export interface SnapshotPatch {
  step?: SnapshotStep
  cursor?: string | null
  copied?: number
  total?: number | null
  readOnlyAt?: number | 'now' | null
  readWriteAt?: number | 'now' | null
  swappedAt?: number | 'now' | null
  swapMarker?: string | null
  error?: string | null
}

const COLUMNS: Record<keyof SnapshotPatch, string> = {
  step: 'step',
  cursor: 'cursor',
  copied: 'copied',
  total: 'total',
  readOnlyAt: 'read_only_at',
  readWriteAt: 'read_write_at',
  swappedAt: 'swapped_at',
  swapMarker: 'swap_marker',
  error: 'error',
}

function toRow(r: Record<string, unknown>): SnapshotRow {
  return {
    id: num(r.id),
    runName: String(r.run_name),
    table: String(r.table_name),
    shadow: String(r.shadow_name),
    backup: String(r.backup_name),
    step: r.step as SnapshotStep,
    cursor: (r.cursor as string | null) ?? null,
    copied: num(r.copied),
    total: numOrNull(r.total),
    readOnlyAt: numOrNull(r.read_only_at),
    readWriteAt: numOrNull(r.read_write_at),
    swappedAt: numOrNull(r.swapped_at),
    swapMarker: (r.swap_marker as string | null) ?? null,
    error: (r.error as string | null) ?? null,
    updatedAt: num(r.updated_at),
  }
}

/** The snapshots table: one row per run in snapshot mode. */
export class SnapshotsStore {
  constructor(private readonly dialect: Dialect) {}

  async get(db: Db, runName: string): Promise<SnapshotRow | undefined> {
    const row = await db(TABLES.snapshots).where({ run_name: runName }).first()
    return row ? toRow(row) : undefined
  }

  /** Every snapshot of `table` (each run that swapped it or is on its way to), oldest first. */
  async forTable(db: Db, table: string): Promise<SnapshotRow[]> {
    const rows = await db(TABLES.snapshots).where({ table_name: table }).orderBy('id')
    return rows.map(toRow)
  }

  /**
   * Creates the row if no process did so first; the shadow and backup names carry its id,
   * which keeps them short (PostgreSQL cuts names at 63 bytes) and unique per snapshot.
   */
  async ensure(db: Db, runName: string, table: string, names: (id: number) => { shadow: string; backup: string }): Promise<SnapshotRow> {
    const found = await this.get(db, runName)
    if (found) return found
    const now = this.dialect.clockMs(db)
    await db(TABLES.snapshots)
      .insert({
        run_name: runName,
        table_name: table,
        shadow_name: '',
        backup_name: '',
        step: 'preflight',
        created_at: now,
        updated_at: now,
      })
      .onConflict('run_name')
      .ignore()
    const row = (await this.get(db, runName))!
    if (row.shadow !== '') return row
    const { shadow, backup } = names(row.id)
    await db(TABLES.snapshots).where({ id: row.id, shadow_name: '' }).update({ shadow_name: shadow, backup_name: backup })
    return (await this.get(db, runName))!
  }

  /** Compare-and-set on the step: false when another process moved it first. */
  async update(db: Db, runName: string, patch: SnapshotPatch, expectedStep?: SnapshotStep): Promise<boolean> {
    const query = db(TABLES.snapshots).where({ run_name: runName })
    if (expectedStep) query.where({ step: expectedStep })
    const values: Record<string, unknown> = { updated_at: this.dialect.clockMs(db) }
    for (const [field, value] of Object.entries(patch))
      values[COLUMNS[field as keyof SnapshotPatch]] = value === 'now' ? this.dialect.clockMs(db) : value
    return (await query.update(values)) === 1
  }

  async remove(db: Db, runName: string): Promise<void> {
    await db(TABLES.snapshots).where({ run_name: runName }).delete()
  }

  /** Forgets a run's tracking (run row, batches, failures): the shadow it evolved is gone. */
  async forgetRun(db: Db, runName: string): Promise<void> {
    await db(TABLES.batches).where({ run_name: runName }).delete()
    await db(TABLES.failures).where({ run_name: runName }).delete()
    await db(TABLES.runs).where({ name: runName }).delete()
  }
}
