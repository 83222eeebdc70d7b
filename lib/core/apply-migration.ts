import type { Knex } from 'knex'
import type { AnyRow } from '../api/define-migration.ts'
import type { RowChange } from '../dialects/dialect.ts'
import type { Batch } from '../store/batches.ts'
import type { WorkerContext } from './context.ts'
import { lockedRowsQuery, setUpdateQuery } from './planner.ts'

/** Runs the migration's evolve step for one batch inside its transaction. */
export async function applyMigration(trx: Knex.Transaction, ctx: WorkerContext, batch: Batch): Promise<{ rows: number; keys: unknown[] }> {
  const m = ctx.migration
  if (m.mode === 'set') {
    // Keys are only needed to check a sweep's work; the scan skips returning them.
    if (batch.phase === 'scan') return { rows: Number(await setUpdateQuery(trx, ctx.knex, m, batch)), keys: [] }
    const updated: AnyRow[] = await setUpdateQuery(trx, ctx.knex, m, batch).returning(m.key)
    return { rows: updated.length, keys: updated.map((r) => r[m.key]) }
  }
  // Re-read under lock and re-checked against `pending`: a row the app changed since the
  // batch was planned is seen as it is now, never overwritten with stale values.
  const rows: AnyRow[] = await lockedRowsQuery(trx, ctx.dialect, m, batch)
  const keys = rows.map((r) => r[m.key])
  if (rows.length === 0) return { rows: 0, keys }
  if (m.mode === 'up') {
    await m.up!(rows, { trx, migration: m.name, batch: { id: batch.id, lo: batch.lo, hi: batch.hi, keys: batch.keys } })
    return { rows: rows.length, keys }
  }
  const results = rows.map((row) => m.transform!(row))
  const settled = results.some((r) => r instanceof Promise) ? await Promise.all(results) : (results as (AnyRow | null | undefined)[])
  const changes: RowChange[] = []
  settled.forEach((changed, i) => {
    if (changed && Object.keys(changed).length > 0) changes.push({ key: keys[i], changes: changed })
  })
  if (changes.length > 0) await ctx.dialect.writeBack(trx, m.table, m.key, changes)
  return { rows: rows.length, keys }
}
