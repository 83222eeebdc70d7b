import { type Phase, decodeKey, encodeKey, num } from './db.ts'

/*
 * A batch row and its codec: the shape the batches table's rows take in the code, and how
 * bounds go in and out as key text. Apart from BatchesStore because the runs store reads
 * batch rows too (joined to their run), and neither store should reach into the other for it.
 */

export type BatchState = 'pending' | 'claimed' | 'done' | 'split' | 'failed'

/** A batch is a key range (lo, hi] or, for re-driven failures, an explicit key list. */
export interface Batch {
  id: number
  runName: string
  phase: Phase | 'retry'
  lo: unknown
  hi: unknown
  keys: unknown[] | null
  state: BatchState
  owner: string | null
  attempts: number
  /** Keys the batch leaves alone (see BatchBounds.without); never stored. */
  without?: unknown[]
}

export interface BatchBounds {
  lo?: unknown
  hi?: unknown
  keys?: unknown[] | null
  /**
   * Keys inside the bounds to leave alone: a sweep skips the run's failed objects, which wait
   * for `evolve retry` (planner.ts, skippedBySweeps). Only the queries read it; never stored.
   */
  without?: unknown[]
}

/** The columns `toBatch` reads. */
export const BATCH_COLUMNS = ['id', 'run_name', 'phase', 'lo', 'hi', 'keys', 'state', 'owner', 'attempts'] as const

export function toBatch(row: Record<string, unknown>): Batch {
  return {
    id: num(row.id),
    runName: String(row.run_name),
    phase: row.phase as Batch['phase'],
    lo: row.lo == null ? undefined : decodeKey(String(row.lo)),
    hi: row.hi == null ? undefined : decodeKey(String(row.hi)),
    keys: row.keys == null ? null : (decodeKey(String(row.keys)) as unknown[]),
    state: row.state as BatchState,
    owner: (row.owner as string | null) ?? null,
    attempts: num(row.attempts),
  }
}

export function boundsColumns(bounds: BatchBounds) {
  return {
    lo: bounds.lo === undefined ? null : encodeKey(bounds.lo),
    hi: bounds.hi === undefined ? null : encodeKey(bounds.hi),
    keys: bounds.keys ? encodeKey(bounds.keys) : null,
  }
}
