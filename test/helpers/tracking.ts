// Read-only probes of the tracking tables, from the outside. Each takes a Knex and answers
// "nothing yet" (undefined, [] or 0) before the tables exist, so it can be polled from the
// moment a run is started.
import type { Knex } from 'knex'
import type { Run } from '../../lib/store/runs.ts'
import type { FreshDatabase } from './databases.ts'

const exists = (knex: Knex, table: string) => knex.schema.hasTable(table)
const decodeKey = (text: string | null) => (text === null ? null : (JSON.parse(text) as unknown))

/** Names of the evolve_* tables present in the database, sorted. */
export async function trackingTables(db: FreshDatabase): Promise<string[]> {
  if (db.dialect === 'postgres') {
    const { rows } = await db.knex.raw(
      "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public' AND table_name LIKE 'evolve%' ORDER BY 1",
    )
    return rows.map((r: { name: string }) => r.name)
  }
  const rows: { name: string }[] = await db.knex.raw(
    "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'evolve%' ORDER BY 1",
  )
  return rows.map((r) => r.name)
}

export interface RunRow {
  state: string
  phase: string
  sweepPass: number
  lastError: string | null
  batchSize: number
  throttleReason: string | null
}

/** The evolve_runs row of a migration, with the columns tests look at. */
export async function runRow(knex: Knex, name: string): Promise<RunRow | undefined> {
  if (!(await exists(knex, 'evolve_runs'))) return undefined
  const row = await knex('evolve_runs').where({ name }).first()
  if (!row) return undefined
  return {
    state: String(row.state),
    phase: String(row.phase),
    sweepPass: Number(row.sweep_pass),
    lastError: row.last_error ?? null,
    batchSize: Number(row.batch_size),
    throttleReason: row.throttle_reason ?? null,
  }
}

export interface BatchRow {
  id: number
  phase: string
  state: 'pending' | 'claimed' | 'done' | 'split' | 'failed'
  owner: string | null
  /** Encoded range bounds as stored (JSON text); see keysInRange. */
  lo: string | null
  hi: string | null
  rows: number
  retries: number
  attempts: number
  claimedAt: number | null
  finishedAt: number | null
}

/** The evolve_batches rows of a run, in id order. */
export async function batchRows(knex: Knex, name: string): Promise<BatchRow[]> {
  if (!(await exists(knex, 'evolve_batches'))) return []
  const rows: Record<string, unknown>[] = await knex('evolve_batches').where({ run_name: name }).orderBy('id')
  return rows.map((r) => ({
    id: Number(r.id),
    phase: String(r.phase),
    state: r.state as BatchRow['state'],
    owner: (r.owner as string | null) ?? null,
    lo: (r.lo as string | null) ?? null,
    hi: (r.hi as string | null) ?? null,
    rows: Number(r.rows),
    retries: Number(r.retries),
    attempts: Number(r.attempts),
    claimedAt: r.claimed_at == null ? null : Number(r.claimed_at),
    finishedAt: r.finished_at == null ? null : Number(r.finished_at),
  }))
}

/** Number of evolve_batches rows of a run, optionally in one state or phase. */
export async function countBatches(knex: Knex, name: string, where: { state?: string; phase?: string } = {}): Promise<number> {
  if (!(await exists(knex, 'evolve_batches'))) return 0
  const row = await knex('evolve_batches')
    .where({ run_name: name, ...where })
    .count({ n: '*' })
    .first()
  return Number(row?.n ?? 0)
}

/** Owners of the batches claimed right now whose range starts at or past `fromKey` (see upMigration's gate). */
export async function claimOwners(knex: Knex, name: string, fromKey = 0): Promise<string[]> {
  if (!(await exists(knex, 'evolve_batches'))) return []
  const rows: { owner: string; lo: string | null }[] = await knex('evolve_batches')
    .where({ run_name: name, state: 'claimed' })
    .select('owner', 'lo')
  return rows.filter((r) => ((decodeKey(r.lo) as number | null) ?? 0) >= fromKey).map((r) => r.owner)
}

/** Worker ids registered by the process with this pid. */
export async function workerIdsOfPid(knex: Knex, pid: number): Promise<string[]> {
  if (!(await exists(knex, 'evolve_workers'))) return []
  const rows: { id: string }[] = await knex('evolve_workers').where({ pid }).select('id')
  return rows.map((r) => r.id)
}

/** Failed objects of a run as recorded in evolve_failures, keys decoded, in key order. */
export async function failureRows(knex: Knex, name: string): Promise<{ key: unknown; error: string; attempts: number }[]> {
  if (!(await exists(knex, 'evolve_failures'))) return []
  const rows = await knex('evolve_failures').where({ run_name: name })
  return rows
    .map((r) => ({ key: decodeKey(r.key), error: String(r.error), attempts: Number(r.attempts) }))
    .sort((a, b) => (a.key as number) - (b.key as number))
}

/** A run row as the store reads it, for the pure arithmetic of lib/core/progress.ts: a running scan. */
export const fakeRun = (over: Partial<Run> = {}): Run => ({
  name: 'm',
  state: 'running',
  description: null,
  phase: 'scan',
  cursor: null,
  scanDone: false,
  sweepPass: 0,
  totalEstimate: 1000,
  batchSize: 100,
  lastError: null,
  pendingAtEnd: null,
  activeMs: null,
  throttleReason: null,
  throttledAt: null,
  changedBy: 'alice@host',
  changeReason: 'start',
  definition: null,
  codeChangedAt: null,
  createdAt: 0,
  startedAt: 10_000,
  finishedAt: null,
  updatedAt: 0,
  ...over,
})
