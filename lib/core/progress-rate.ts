import type { BatchTotals } from '../store/batch-totals.ts'
import type { Run } from '../store/runs.ts'

// How fast a run goes, as `status` shows it: over the last RATE_WINDOW_MS while it runs, over the
// time its batches ran once it stopped.

/** The window of a running run's rate. */
export const RATE_WINDOW_MS = 30_000

/** Rows finished in the last RATE_WINDOW_MS, and the database's clock at that moment. */
export interface Recent {
  rows: number
  now: number
}

/** A rate over less than a second is the first batches' own speed, not the run's: under `maxRowsPerSecond` it showed well above the limit. */
const SHORTEST_WINDOW_MS = 1000

export function currentRate(run: Run, recent: Recent): number | null {
  if (run.startedAt === null) return null
  const window = Math.min(RATE_WINDOW_MS, Math.max(SHORTEST_WINDOW_MS, recent.now - run.startedAt)) / 1000
  return recent.rows / window
}

export function averageRate(run: Run, totals: BatchTotals, active: number | null | undefined): number | null {
  const end = run.finishedAt ?? totals.lastBatchAt
  if (run.startedAt === null || end === null || totals.rowsEvolved === 0) return null
  const seconds = (active === undefined ? end - run.startedAt : (active ?? 0)) / 1000
  // The work done, sweeps included, as the current rate counts it.
  return seconds > 0 ? totals.rowsEvolved / seconds : null
}

/**
 * No batch in flight for this long is not pacing but a stop: a pause, a failed or cancelled run
 * waiting to be run again, a long throttle. Longer than the waits a running run makes between
 * batches for its pauses between batches or a rate limit, so those still count as the run's time.
 */
export const IDLE_GAP_MS = 10_000
