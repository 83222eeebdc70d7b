import { type Db, num, numOrNull } from './db.ts'
import { TABLES } from './schema.ts'

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

/**
 * The time a run's batches ran: its first claim to its last batch's end, less each stretch of
 * `idleGapMs` or more in which no batch was in flight. null before any batch finished. One
 * aggregate over the run's batches (each gap is a claim after the latest end before it).
 */
export async function activeMs(knex: Db, name: string, idleGapMs: number): Promise<number | null> {
  const spans = knex(TABLES.batches)
    .where({ run_name: name })
    .whereNotNull('claimed_at')
    .whereNotNull('finished_at')
    .select(
      'claimed_at',
      'finished_at',
      knex.raw('max(finished_at) over (order by claimed_at, id rows between unbounded preceding and 1 preceding) as prev_end'),
    )
  const row = (await knex
    .from(spans.as('spans'))
    .first(
      knex.raw('min(claimed_at) as first_claim'),
      knex.raw('max(finished_at) as last_end'),
      knex.raw('sum(case when claimed_at - prev_end >= ? then claimed_at - prev_end else 0 end) as idle', [idleGapMs]),
    )) as Record<string, unknown> | undefined
  const first = numOrNull(row?.first_claim)
  const last = numOrNull(row?.last_end)
  if (first === null || last === null) return null
  return Math.max(0, last - first - (numOrNull(row?.idle) ?? 0))
}
