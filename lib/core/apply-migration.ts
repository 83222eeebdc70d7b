import type { Knex } from 'knex'
import { LostClaimError, errorMessage } from '../errors.ts'
import type { AnyRow } from '../api/define-migration.ts'
import type { RowChange } from '../dialects/dialect.ts'
import type { Batch } from '../store/batches.ts'
import type { WorkerContext } from './context.ts'
import { keyColumns, keyOf, withoutKey } from './keys.ts'
import { setUpdateQuery } from './planner.ts'
import type { RowSource } from './prefetch.ts'
import { readBatchRows, settleRead } from './read-batch-rows.ts'
import { assertReturnedColumns, generatedValues, withoutGenerated } from './returned-columns.ts'
import { guardRows } from './row-guard.ts'
import { type Noted, dropUnchanged, noteLossy } from './unchanged-values.ts'

/** A row whose transform threw: its key (as read, before the transform could change the row) and the error. */
export interface Thrown {
  key: unknown
  error: string
}

/** What one batch did: rows evolved, their keys, and the row data it held in memory. */
export interface Applied {
  rows: number
  keys: unknown[]
  /** Rows whose transform threw: left as they are, for the caller to record as failed objects. */
  thrown: Thrown[]
  /** Bytes of row data read (transform/up); 0 in set mode, where rows never leave the database. */
  bytes: number
  /** True when the byte cap cut the batch short (the rest of its range went back as a pending batch). */
  cut: boolean
}

/** Runs the migration's evolve step for one batch inside its transaction. */
export async function applyMigration(
  trx: Knex.Transaction,
  ctx: WorkerContext,
  batch: Batch,
  rowBytesHint?: number,
  source: RowSource = {},
): Promise<Applied> {
  const m = ctx.migration
  if (m.mode === 'set') {
    // The UPDATE re-checks `pending` on each row as it locks it: no separate re-read is needed.
    // Keys are only needed to check a sweep's work; the scan skips returning them.
    if (batch.phase === 'scan')
      return { rows: Number(await setUpdateQuery(trx, ctx.knex, m, batch)), keys: [], thrown: [], bytes: 0, cut: false }
    const updated: AnyRow[] = await setUpdateQuery(trx, ctx.knex, m, batch).returning(keyColumns(m))
    return { rows: updated.length, keys: updated.map((r) => keyOf(m, r)), thrown: [], bytes: 0, cut: false }
  }
  // Re-read under lock and re-checked against `pending`: a row the app changed since the
  // batch was planned is seen as it is now, never overwritten with stale values. Rows read
  // before the transaction are used only if nothing was committed since (prefetch.ts).
  const { rows, bytes, bounds, cut } = source.read
    ? await settleRead(trx, ctx, batch, source.read)
    : await readBatchRows(trx, ctx, batch, rowBytesHint, source.maxRows)
  await guardRows(trx, ctx.dialect, m, rows)
  const keys = rows.map((r) => keyOf(m, r))
  const applied: Applied = { rows: rows.length, keys, thrown: [], bytes, cut }
  if (rows.length === 0) return applied
  if (m.mode === 'up') {
    await m.up!(rows, { trx, migration: m.name, batch: { id: batch.id, lo: bounds.lo, hi: bounds.hi, keys: bounds.keys ?? null } })
    return applied
  }
  const columns = Object.keys(rows[0]!)
  // Before the transform, which may change the row in place; most tables hold none, and then no array is made.
  let noted: Noted[] | undefined
  rows.forEach((row, i) => {
    const lossy = noteLossy(row, columns)
    if (lossy) (noted ??= [])[i] = lossy
  })
  const generated = await generatedValues(trx, ctx, rows)
  // A throw names its row: that row is left as it is and recorded by the caller, the others are written
  // (no splitting for it: isolate-failure.ts). Rows of one batch never share a JavaScript failure.
  const note = (i: number, err: unknown): undefined => {
    // A conflict (a lock timeout, a deadlock in the transform's own queries) or a lost claim is the
    // batch's, not the row's: thrown on, for the batch's retry with backoff, as before.
    if (err instanceof LostClaimError || ctx.dialect.classifyError(err) !== null) throw err
    applied.thrown.push({ key: keys[i], error: errorMessage(err) })
  }
  const results = rows.map((row, i) => {
    try {
      const result = m.transform!(row)
      return result instanceof Promise ? result.catch((err: unknown) => note(i, err)) : result
    } catch (err) {
      return note(i, err)
    }
  })
  const settled = results.some((r) => r instanceof Promise) ? await Promise.all(results) : (results as (AnyRow | null | undefined)[])
  const returned: (RowChange & { i: number })[] = []
  settled.forEach((changed, i) => {
    const kept = changed ? withoutKey(m, keys[i], dropUnchanged(definedOnly(changed), noted?.[i])) : undefined
    if (kept && Object.keys(kept).length > 0) returned.push({ i, key: keys[i], changes: kept })
  })
  if (returned.length === 0) return applied
  // The table's columns as they are now (read again when one returned is new to them): a generated
  // column added during the run is left out too.
  const { generated: computed } = await assertReturnedColumns(trx, ctx, returned)
  const changes: RowChange[] = []
  for (const { i, key, changes: kept } of returned) {
    const writable = computed.length > 0 ? withoutGenerated(m, key, kept, computed, generated?.[i] ?? {}) : kept
    if (Object.keys(writable).length > 0) changes.push({ key, changes: writable })
  }
  if (changes.length > 0) await ctx.dialect.writeBack(trx, m.table, m.key, changes)
  return applied
}

/** A column set to `undefined` is left as it is (as knex's update leaves it), not written as NULL. */
function definedOnly(changes: AnyRow): AnyRow {
  let kept: AnyRow | undefined
  for (const column in changes) {
    if (changes[column] !== undefined) continue
    kept ??= { ...changes }
    delete kept[column]
  }
  return kept ?? changes
}
