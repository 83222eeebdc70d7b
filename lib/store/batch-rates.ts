import type { Dialect } from '../dialects/dialect.ts'
import { type Db, num, readClock } from './db.ts'
import { TABLES } from './schema.ts'

/** A batch as a rows-per-second limit sees it (BatchRatesStore.rateWindow, lib/core/throttle.ts rateBudget). */
export interface RateBatch {
  phase: string
  state: string
  /** Keys its range was planned with; 0 for a split half, a retry, a rest the byte cap queued. */
  planned: number
  /** Rows it evolved; null while it runs. */
  rows: number | null
  /**
   * While it runs, the rows a batch taken from the pending queue was expected to evolve when claimed
   * (its pending rows: BatchesStore.claimPending keeps them in its rows column until it finishes); 0
   * or absent for a new range, which is estimated from `planned`, and once finished.
   */
  expected?: number
  claimedAt: number
}

/** What a rows-per-second budget is read from, on the database's clock. */
export interface RateWindow {
  now: number
  /** The run's batches claimed in the last window or still running. */
  claims: RateBatch[]
  /** The run's last finished batches (done, split or failed), newest first. */
  recent: RateBatch[]
}

/**
 * The run's last finished batches a rate limit learns the density of pending rows from: enough that
 * one range's chance share of pending rows does not swing it, few enough to follow a change (pending
 * rows bunched in one part of the table) within about a second's batches.
 */
export const DENSITY_BATCHES = 10

/**
 * How fast a run's batches go, from the batches table: the current rate (`status`) and a
 * rows-per-second limit's budget (each claim). A long run has 100,000s of batches: every read goes
 * through an index, with the window's start sent as a number.
 */
export class BatchRatesStore {
  constructor(private readonly dialect: Dialect) {}

  /**
   * Rows finished in the last `windowMs`: the current speed, not the average since the start. `now`:
   * the database's clock, when the caller read it already. The window's start goes as a number, so
   * the (run_name, finished_at) index serves it (PostgreSQL compares no index to clock_timestamp()).
   */
  async recentRows(db: Db, runName: string, windowMs: number, now?: number): Promise<number> {
    const since = (now ?? (await readClock(db, this.dialect))) - windowMs
    const row = await db(TABLES.batches).where({ run_name: runName }).where('finished_at', '>', since).sum({ rows: 'rows' }).first()
    return num(row?.rows)
  }

  /**
   * What a rate limit's budget is read from (lib/core/throttle.ts rateBudget), in one statement: the
   * run's batches claimed in the last `windowMs` or still running, and its last `recent` finished
   * batches (lib/core/throttle.ts learns the density of pending rows from them), with the database's clock (every
   * machine counts the same window).
   */
  async rateWindow(db: Db, runName: string, windowMs: number, recent = DENSITY_BATCHES): Promise<RateWindow> {
    // The clock first, so every condition is served by an index (a run may have 100,000s of batches).
    const now = await readClock(db, this.dialect)
    const columns = ['phase', 'state', 'planned', 'rows', 'claimed_at']
    const of = (branch: number) => [db.raw(`${branch} AS branch`), ...columns]
    // Index scans each (SQLite would read every batch of the run for an OR of the first two).
    const rows: Record<string, unknown>[] = await db(TABLES.batches)
      .where({ run_name: runName, state: 'claimed' })
      .select(of(0))
      .unionAll((q) =>
        q
          .from(TABLES.batches)
          .where({ run_name: runName })
          .where('claimed_at', '>', now - windowMs)
          .whereNot({ state: 'claimed' })
          .select(of(0)),
      )
      .unionAll((q) =>
        // Newest first along the (run_name, finished_at) index, however long the run.
        q
          .select(of(1))
          .from(
            db(TABLES.batches)
              .where({ run_name: runName })
              .whereNotNull('finished_at')
              .orderBy('finished_at', 'desc')
              .limit(recent)
              .select(columns)
              .as('recent'),
          ),
      )
    const batch = (r: Record<string, unknown>) => ({
      phase: String(r.phase),
      state: String(r.state),
      planned: num(r.planned),
      // Still running: not evolved yet (a claim given back to pending neither).
      rows: r.state === 'claimed' || r.rows == null ? null : num(r.rows),
      expected: r.state === 'claimed' ? num(r.rows) : 0,
      claimedAt: num(r.claimed_at),
    })
    return {
      now,
      claims: rows.filter((r) => num(r.branch) === 0).map(batch),
      recent: rows.filter((r) => num(r.branch) === 1).map(batch),
    }
  }
}
