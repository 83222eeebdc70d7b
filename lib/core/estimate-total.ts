import type { Knex } from 'knex'
import type { Store } from '../store/store.ts'
import type { Migration } from './migration.ts'
import { batchQuery, countPending } from './planner.ts'

/** Above this many rows (by the planner's estimate) a run's total is estimated, not counted. */
export const COUNT_EXACTLY_UP_TO = 5_000_000

/**
 * How many rows the run will evolve, for progress and ETA: the rows pending when it
 * started. Exact on small tables; on large PostgreSQL tables the planner's estimate,
 * because a full count would scan the table the app is using just to draw a progress bar.
 *
 * It runs beside the run's first batches (lib/core/count-total.ts), so rows may leave
 * the pending set while it counts: the rows the run's scan batches evolved are read in
 * the same snapshot as the rows still pending, and their sum is the same whichever
 * batches committed before the snapshot.
 */
export async function estimateTotal(knex: Knex, store: Store, m: Migration): Promise<number> {
  const { dialect } = store
  // Under evolvekit's limits, not the role's (Dialect.readSnapshot): a statement_timeout meant for
  // the app cancelled this count on any table of size, and the run went on without a total.
  return dialect.readSnapshot(
    knex,
    async (trx) => {
      if (dialect.estimateRows) {
        const tableRows = await dialect.estimateRows(trx, batchQuery(trx, m, {}, false).select(m.key))
        if (tableRows !== null && tableRows > COUNT_EXACTLY_UP_TO) {
          const pending = await dialect.estimateRows(trx, batchQuery(trx, m, {}, true).select(m.key))
          if (pending !== null) return Math.round(pending)
        }
      }
      // Without `pending` every row is counted, evolved or not: the table's rows are the total.
      const evolved = m.pending ? await store.batches.scanRowsDone(trx, m.name) : 0
      return evolved + (await countPending(trx, m))
    },
    m,
  )
}
