import type { Knex } from 'knex'
import type { Dialect } from '../dialects/dialect.ts'
import type { Migration } from './migration.ts'
import { batchQuery, countPending } from './planner.ts'

/** Above this many rows (by the planner's estimate) a run's total is estimated, not counted. */
export const COUNT_EXACTLY_UP_TO = 5_000_000

/**
 * How many rows the run will evolve, for progress and ETA. Exact on small tables;
 * on large PostgreSQL tables the planner's estimate, because a full count would
 * scan the table the app is using just to draw a progress bar.
 */
export async function estimateTotal(knex: Knex, dialect: Dialect, m: Migration): Promise<number> {
  if (dialect.estimateRows) {
    const tableRows = await dialect.estimateRows(knex, batchQuery(knex, m, {}, false).select(m.key))
    if (tableRows !== null && tableRows > COUNT_EXACTLY_UP_TO) {
      const pending = await dialect.estimateRows(knex, batchQuery(knex, m, {}, true).select(m.key))
      if (pending !== null) return Math.round(pending)
    }
  }
  return countPending(knex, m)
}
