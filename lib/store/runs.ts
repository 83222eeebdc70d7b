import type { Knex } from 'knex'
import { type Db, num, numOrNull } from './db.ts'
import { TABLES } from './schema.ts'

export type RunState = 'pending' | 'running' | 'paused' | 'done' | 'failed' | 'cancelled'
export type Phase = 'scan' | 'sweep'

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
  throttleReason: string | null
  throttledAt: number | null
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
    throttleReason: (row.throttle_reason as string | null) ?? null,
    throttledAt: numOrNull(row.throttled_at),
    createdAt: num(row.created_at),
    startedAt: numOrNull(row.started_at),
    finishedAt: numOrNull(row.finished_at),
    updatedAt: num(row.updated_at),
  }
}

export async function getRun(db: Db, name: string): Promise<Run | undefined> {
  const row = await db(TABLES.runs).where({ name }).first()
  return row ? toRun(row) : undefined
}

export async function listRuns(db: Db): Promise<Run[]> {
  return (await db(TABLES.runs).orderBy('name')).map(toRun)
}

/** Creates the run row if no process did so first; returns the row either way. */
export async function ensureRun(
  db: Db,
  init: { name: string; description?: string; batchSize: number; totalEstimate: number | null },
): Promise<Run> {
  const now = Date.now()
  await db(TABLES.runs)
    .insert({
      name: init.name,
      state: 'pending',
      description: init.description ?? null,
      phase: 'scan',
      batch_size: init.batchSize,
      total_estimate: init.totalEstimate,
      created_at: now,
      updated_at: now,
    })
    .onConflict('name')
    .ignore()
  return (await getRun(db, init.name))!
}

export interface RunPatch {
  state?: RunState
  phase?: Phase
  cursor?: string | null
  scanDone?: boolean
  sweepPass?: number
  totalEstimate?: number | null
  batchSize?: number
  lastError?: string | null
  throttleReason?: string | null
  // Times may be the database's clock as SQL (Dialect.clockMs): progress compares them with
  // batch times, which use it, and status may run on another host.
  throttledAt?: number | Knex.Raw | null
  startedAt?: number | Knex.Raw | null
  finishedAt?: number | Knex.Raw | null
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
  throttleReason: 'throttle_reason',
  throttledAt: 'throttled_at',
  startedAt: 'started_at',
  finishedAt: 'finished_at',
}

/**
 * Compare-and-set on the run row: applies `patch` only where the row still has
 * the `expected` values. Returns false when another worker changed it first.
 */
export async function updateRun(db: Db, name: string, patch: RunPatch, expected: RunPatch = {}): Promise<boolean> {
  const query = db(TABLES.runs).where({ name })
  for (const [field, value] of Object.entries(expected)) {
    const column = COLUMNS[field as keyof RunPatch]
    if (value === null) query.whereNull(column)
    else query.where(column, value as Knex.Value)
  }
  const values: Record<string, unknown> = { updated_at: Date.now() }
  for (const [field, value] of Object.entries(patch)) values[COLUMNS[field as keyof RunPatch]] = value
  return (await query.update(values)) === 1
}
