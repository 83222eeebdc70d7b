import type { Knex } from 'knex'
import type { Dialect } from '../dialects/dialect.ts'
import { BATCH_COLUMNS, type Batch, toBatch } from './batch-row.ts'
import { type Db, type Phase, num, numOrNull } from './db.ts'
import { TABLES } from './schema.ts'

export type RunState = 'pending' | 'running' | 'paused' | 'done' | 'failed' | 'cancelled'
export type { Phase } from './db.ts'

export interface Run {
  name: string
  state: RunState
  description: string | null
  phase: Phase
  cursor: string | null
  scanDone: boolean
  sweepPass: number
  totalEstimate: number | null
  batchSize: number
  lastError: string | null
  /** Rows finalize found still pending (or with a NULL key) when it ended the run failed; null otherwise. */
  pendingAtEnd: number | null
  /** The time its batches ran (batch-totals.ts activeMs), stored when the run ended; null before. */
  activeMs: number | null
  throttleReason: string | null
  throttledAt: number | null
  /** Who made the last state change (CLI user@host, API token name, runner id), and why. */
  changedBy: string | null
  changeReason: string | null
  /** What the run was opened with (encodeDefinition's JSON), or null when an older version opened it. */
  definition: string | null
  /** When the run last went on with changed code (the file's, after its run started), or null. */
  codeChangedAt: number | null
  createdAt: number
  startedAt: number | null
  finishedAt: number | null
  updatedAt: number
}

function toRun(row: Record<string, unknown>): Run {
  return {
    name: String(row.name),
    state: row.state as RunState,
    description: (row.description as string | null) ?? null,
    phase: row.phase as Phase,
    cursor: (row.cursor as string | null) ?? null,
    scanDone: Boolean(num(row.scan_done)),
    sweepPass: num(row.sweep_pass),
    totalEstimate: numOrNull(row.total_estimate),
    batchSize: num(row.batch_size),
    lastError: (row.last_error as string | null) ?? null,
    pendingAtEnd: numOrNull(row.pending_at_end),
    activeMs: numOrNull(row.active_ms),
    throttleReason: (row.throttle_reason as string | null) ?? null,
    throttledAt: numOrNull(row.throttled_at),
    changedBy: (row.changed_by as string | null) ?? null,
    changeReason: (row.change_reason as string | null) ?? null,
    // Absent on tracking tables an older version made (status reads them before any upgrade).
    definition: (row.definition as string | null | undefined) ?? null,
    codeChangedAt: numOrNull(row.code_changed_at),
    createdAt: num(row.created_at),
    startedAt: numOrNull(row.started_at),
    finishedAt: numOrNull(row.finished_at),
    updatedAt: num(row.updated_at),
  }
}

/** A time column's new value: 'now' is the database's clock, which every machine shares. */
export type TimeValue = number | 'now' | null

export interface RunPatch {
  state?: RunState
  phase?: Phase
  cursor?: string | null
  scanDone?: boolean
  sweepPass?: number
  totalEstimate?: number | null
  batchSize?: number
  lastError?: string | null
  pendingAtEnd?: number | null
  activeMs?: number | null
  throttleReason?: string | null
  changedBy?: string | null
  changeReason?: string | null
  definition?: string | null
  throttledAt?: TimeValue
  codeChangedAt?: TimeValue
  startedAt?: TimeValue
  finishedAt?: TimeValue
}

const COLUMNS: Record<keyof RunPatch, string> = {
  state: 'state',
  phase: 'phase',
  cursor: 'cursor',
  scanDone: 'scan_done',
  sweepPass: 'sweep_pass',
  totalEstimate: 'total_estimate',
  batchSize: 'batch_size',
  lastError: 'last_error',
  pendingAtEnd: 'pending_at_end',
  activeMs: 'active_ms',
  throttleReason: 'throttle_reason',
  changedBy: 'changed_by',
  changeReason: 'change_reason',
  definition: 'definition',
  codeChangedAt: 'code_changed_at',
  throttledAt: 'throttled_at',
  startedAt: 'started_at',
  finishedAt: 'finished_at',
}

/**
 * The runs table. A run's `state` column is written only through the run state machine
 * (lib/core/run-state.ts), which calls `update` with a compare-and-set.
 */
export class RunsStore {
  constructor(private readonly dialect: Dialect) {}

  async get(db: Db, name: string): Promise<Run | undefined> {
    const row = await db(TABLES.runs).where({ name }).first()
    return row ? toRun(row) : undefined
  }

  async list(db: Db): Promise<Run[]> {
    return (await db(TABLES.runs).orderBy('name')).map(toRun)
  }

  /** Creates the run row if no process did so first; returns the row either way. */
  async ensure(
    db: Db,
    init: { name: string; description?: string; batchSize: number; totalEstimate: number | null; definition?: string },
  ): Promise<Run> {
    const now = this.dialect.clockMs(db)
    await db(TABLES.runs)
      .insert({
        name: init.name,
        state: 'pending',
        description: init.description ?? null,
        phase: 'scan',
        batch_size: init.batchSize,
        total_estimate: init.totalEstimate,
        ...(init.definition === undefined ? {} : { definition: init.definition }),
        created_at: now,
        updated_at: now,
      })
      .onConflict('name')
      .ignore()
    return (await this.get(db, init.name))!
  }

  /**
   * Compare-and-set on the run row: applies `patch` only where the row still has
   * the `expected` values. Returns false when another worker changed it first.
   */
  async update(db: Db, name: string, patch: RunPatch, expected: RunPatch = {}): Promise<boolean> {
    return (await this.updateQuery(db, name, patch, expected)) === 1
  }

  /** The compare-and-set of `update`, not yet run: a statement can be built on it (`.returning(…)`). */
  updateQuery(db: Db, name: string, patch: RunPatch, expected: RunPatch = {}): Knex.QueryBuilder {
    const query = db(TABLES.runs).where({ name })
    for (const [field, value] of Object.entries(expected)) {
      const column = COLUMNS[field as keyof RunPatch]
      if (value === null) query.whereNull(column)
      else query.where(column, value as string | number | boolean)
    }
    const values: Record<string, unknown> = { updated_at: this.dialect.clockMs(db) }
    for (const [field, value] of Object.entries(patch)) {
      values[COLUMNS[field as keyof RunPatch]] = value === 'now' && field.endsWith('At') ? this.dialect.clockMs(db) : value
    }
    return query.update(values)
  }

  /**
   * The run and its open batches (pending or claimed, oldest first) in one read, so they agree: what a
   * worker's turn starts from. undefined when there is no such run.
   */
  async getWithOpenBatches(db: Db, name: string): Promise<{ run: Run; open: Batch[] } | undefined> {
    const rows: Record<string, unknown>[] = await db(`${TABLES.runs} as r`)
      .leftJoin(`${TABLES.batches} as b`, (on) => on.on('b.run_name', '=', 'r.name').onIn('b.state', ['pending', 'claimed']))
      .where('r.name', name)
      .select('r.*', ...BATCH_COLUMNS.map((c) => `b.${c} as b_${c}`))
      .orderBy('b.id')
    if (rows.length === 0) return undefined
    const open = rows
      .filter((row) => row.b_id != null)
      .map((row) => toBatch(Object.fromEntries(BATCH_COLUMNS.map((c) => [c, row[`b_${c}`]]))))
    return { run: toRun(rows[0]!), open }
  }
}
