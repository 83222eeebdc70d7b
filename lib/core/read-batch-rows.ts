import type { Knex } from 'knex'
import type { AnyRow } from '../api/define-migration.ts'
import type { Batch, BatchBounds } from '../store/batches.ts'
import { encodeKey } from '../store/db.ts'
import type { WorkerContext } from './context.ts'
import { keyOf } from './keys.ts'
import { lockedRowsQuery } from './planner.ts'

/** Rows read before the first row's size is known: one, whatever its width. */
const FIRST_CHUNK = 1

/** A batch's rows as read, and where the byte cap stopped the reading (the last key read). */
export interface BatchRead {
  rows: AnyRow[]
  bytes: number
  /** Set when the byte cap was reached: the batch is to end at this key. */
  cutAfter?: unknown
}

/**
 * Reads a batch's rows under lock, in key order, holding at most about `maxBatchBytes` of row
 * data. The rows are read in chunks sized from the bytes per row seen so far; when the cap is
 * reached the batch is cut at the last row read: its bounds shrink to what was read and the
 * rest goes back as a new pending batch, in this same transaction, so a crash loses neither.
 * Retry batches are never cut: their failure records were taken whole (and they are small).
 */
export async function readBatchRows(trx: Knex.Transaction, ctx: WorkerContext, batch: Batch, rowBytesHint?: number, maxRows?: number) {
  return settleRead(trx, ctx, batch, await readRows(trx, ctx, batch, rowBytesHint, maxRows))
}

/**
 * The reading of `readBatchRows`, which writes nothing: `db` may be a transaction or not (see
 * prefetch.ts). `maxRows` cuts the batch like the byte cap does (a scan batch read under the lock
 * after its early read went stale: see prefetch.ts).
 */
export async function readRows(
  db: Knex | Knex.Transaction,
  ctx: WorkerContext,
  batch: Batch,
  rowBytesHint?: number,
  maxRows = Infinity,
): Promise<BatchRead> {
  const m = ctx.migration
  const budget = ctx.options.maxBatchBytes
  const whole = boundsOf(batch)
  if (batch.phase === 'retry' || (!Number.isFinite(budget) && !Number.isFinite(maxRows))) {
    const rows: AnyRow[] = await lockedRowsQuery(db, ctx.dialect, m, whole)
    return { rows, bytes: rows.reduce((n, r) => n + rowBytes(r), 0) }
  }
  const rows: AnyRow[] = []
  let bytes = 0
  let after: unknown = undefined
  for (;;) {
    const perRow = rows.length > 0 ? bytes / rows.length : rowBytesHint
    const byBytes = perRow === undefined ? FIRST_CHUNK : Math.max(1, Math.floor((budget - bytes) / Math.max(1, perRow)))
    const chunk = Math.min(byBytes, maxRows - rows.length)
    const got: AnyRow[] = await lockedRowsQuery(db, ctx.dialect, m, whole, after, chunk)
    for (const row of got) {
      rows.push(row)
      bytes += rowBytes(row)
    }
    if (got.length < chunk) return { rows, bytes } // the range is exhausted
    after = keyOf(m, got[got.length - 1]!)
    if (bytes >= budget || rows.length >= maxRows) return { rows, bytes, cutAfter: after }
  }
}

/** In the batch's transaction: where the read was cut, the batch shrinks and its rest is queued. */
export async function settleRead(trx: Knex.Transaction, ctx: WorkerContext, batch: Batch, read: BatchRead) {
  const { rows, bytes, cutAfter } = read
  if (cutAfter === undefined) return { rows, bytes, bounds: boundsOf(batch), cut: false }
  return { rows, bytes, bounds: await cutBatch(trx, ctx, batch, cutAfter, rows), cut: true }
}

/** The key range (or keys) a batch spans, and the keys it leaves alone, without its bookkeeping. */
function boundsOf(batch: Batch): BatchBounds {
  return { lo: batch.lo, hi: batch.hi, keys: batch.keys, without: batch.without }
}

/** Shrinks the batch to end at `last` and queues the rest of it as a pending batch. */
async function cutBatch(trx: Knex.Transaction, ctx: WorkerContext, batch: Batch, last: unknown, rows: AnyRow[]): Promise<BatchBounds> {
  const { store, migration: m } = ctx
  if (batch.keys) {
    const read = rows.map((r) => keyOf(m, r))
    const done = new Set(read.map(encodeKey))
    const rest = batch.keys.filter((k) => !done.has(encodeKey(k)))
    await store.batches.narrow(trx, batch.id, { keys: read })
    if (rest.length > 0) await store.batches.insert(trx, m.name, batch.phase, { keys: rest }, null)
    return { keys: read }
  }
  await store.batches.narrow(trx, batch.id, { lo: batch.lo, hi: last })
  await store.batches.insert(trx, m.name, batch.phase, { lo: last, hi: batch.hi }, null)
  return { lo: batch.lo, hi: last }
}

/** Row data held in memory, roughly as stored: text and bytes by length, other values by their JSON. */
export function rowBytes(row: AnyRow): number {
  let n = 0
  for (const value of Object.values(row)) n += valueBytes(value)
  return n
}

function valueBytes(value: unknown): number {
  if (value === null || value === undefined) return 1
  if (typeof value === 'string') return value.length
  if (Buffer.isBuffer(value)) return value.length
  if (typeof value === 'object' && !(value instanceof Date)) return JSON.stringify(value)?.length ?? 8
  return 8
}
