import { num, numOrNull } from './db.ts'

/*
 * What `status` shows of a run's batches, and the rule that counts it from the batches table's
 * per-state, per-phase sums. Apart from BatchesStore, which claims, fences and finishes batches:
 * this is only arithmetic on rows already read, and the counting rule is what needs reading.
 */

export interface BatchTotals {
  /** Rows evolved, each counted once (see `tallyTotals`). */
  rowsDone: number
  /** Rows evolved by every batch, a row swept again counted again: the work done. */
  rowsEvolved: number
  batchesDone: number
  retries: number
  lastBatchAt: number | null
}

/**
 * What `status` shows of a run's batches, from its per-state, per-phase sums. `rowsDone` counts
 * each row once: the scan meets every row at most once, and a retry batch counts only objects no
 * batch counted before (execute-batch).
 * Sweep batches are left out: the rows they evolve are mostly rows the scan evolved and counted
 * already (the app wrote them in the old shape again, or the migration left them pending), and
 * which ones is not recorded (these tables never grow with the rows). `rowsEvolved` counts every
 * row every batch evolved, sweeps included: the work done, for the rate.
 */
export function tallyTotals(rows: Record<string, unknown>[]): BatchTotals {
  const totals: BatchTotals = { rowsDone: 0, rowsEvolved: 0, batchesDone: 0, retries: 0, lastBatchAt: null }
  for (const r of rows) {
    totals.retries += num(r.retries)
    if (r.state === 'done' || r.state === 'failed') {
      if (r.phase !== 'sweep') totals.rowsDone += num(r.rows)
      totals.rowsEvolved += num(r.rows)
      totals.batchesDone += num(r.n)
    }
    const last = numOrNull(r.last)
    if (last !== null && (totals.lastBatchAt === null || last > totals.lastBatchAt)) totals.lastBatchAt = last
  }
  return totals
}
