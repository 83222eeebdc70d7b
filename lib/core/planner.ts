import type { Knex } from 'knex'
import type { Dialect } from '../dialects/dialect.ts'
import type { BatchBounds } from '../store/batches.ts'
import type { Db } from '../store/db.ts'
import { KEY_CHUNK } from '../store/failures.ts'
import type { Migration } from './migration.ts'

/*
 * Every statement a batch runs is built here, apart from executing it, so `plan`
 * can print exactly what `run` will do.
 */

/** Rows of `m.table` inside a batch's bounds; with `onlyPending`, narrowed by `m.pending`. */
export function batchQuery(db: Db, m: Migration, bounds: BatchBounds, onlyPending = true): Knex.QueryBuilder {
  const query = db(m.table)
  if (bounds.keys) query.whereIn(m.key, bounds.keys as Knex.Value[])
  else {
    if (bounds.lo !== undefined) query.where(m.key, '>', bounds.lo as Knex.Value)
    if (bounds.hi !== undefined) query.where(m.key, '<=', bounds.hi as Knex.Value)
  }
  if (onlyPending && m.pending) {
    const pending = m.pending
    // Parenthesised, so a filter built with orWhere cannot escape the batch's bounds.
    query.where((sub) => {
      pending(sub)
    })
  }
  return query
}

export function pendingQuery(db: Db, m: Migration, bounds: BatchBounds): Knex.QueryBuilder {
  return batchQuery(db, m, bounds, true)
}

/** The rows a batch evolves, re-read under lock inside the batch transaction. */
export function lockedRowsQuery(db: Db, dialect: Dialect, m: Migration, bounds: BatchBounds): Knex.QueryBuilder {
  return dialect.lockRows(batchQuery(db, m, bounds).select('*').orderBy(m.key))
}

/** `set` mode: one UPDATE per batch; the database re-checks `pending` on each row it locks. */
export function setUpdateQuery(db: Db, knex: Knex, m: Migration, bounds: BatchBounds): Knex.QueryBuilder {
  const values: Record<string, unknown> = {}
  for (const [column, expression] of Object.entries(m.set!)) values[column] = expression(knex)
  return batchQuery(db, m, bounds).update(values)
}

/**
 * The key that ends the next batch: `size` keys past `after`. Scans count every row
 * (an index-only walk of the key); sweeps count only pending rows, so they skip
 * the ranges where nothing changed.
 */
export function boundaryQuery(db: Db, m: Migration, after: unknown, size: number, onlyPending: boolean): Knex.QueryBuilder {
  return batchQuery(db, m, { lo: after }, onlyPending)
    .select(m.key)
    .orderBy(m.key)
    .offset(size - 1)
    .limit(1)
}

export function lastKeyQuery(db: Db, m: Migration, after: unknown, onlyPending: boolean): Knex.QueryBuilder {
  return batchQuery(db, m, { lo: after }, onlyPending).max({ last: m.key })
}

/** The end of the next range: `full` when it spans `size` keys, false for the table's tail. */
export async function nextBoundary(
  db: Db,
  m: Migration,
  after: unknown,
  size: number,
  onlyPending: boolean,
): Promise<{ key: unknown; full: boolean } | undefined> {
  const row = await boundaryQuery(db, m, after, size, onlyPending).first()
  if (row) return { key: row[m.key], full: true }
  const last = await lastKeyQuery(db, m, after, onlyPending).first()
  return last?.last === null || last?.last === undefined ? undefined : { key: last.last, full: false }
}

/** Keys of the rows in `bounds` that still need evolving, in key order. */
export async function pendingKeys(db: Db, m: Migration, bounds: BatchBounds, limit?: number): Promise<unknown[]> {
  const query = pendingQuery(db, m, bounds).select(m.key).orderBy(m.key)
  if (limit !== undefined) query.limit(limit)
  const rows = await query
  return rows.map((r: Record<string, unknown>) => r[m.key])
}

/**
 * Rows that still need evolving, not counting `excludeKeys` (the failed objects). The
 * exclusion is subtracted chunk by chunk, so any number of failures fits the databases'
 * limits on bound parameters.
 */
export async function countPending(db: Db, m: Migration, excludeKeys: unknown[] = []): Promise<number> {
  const count = async (query: Knex.QueryBuilder) => Number((await query.count({ n: '*' }).first())?.n ?? 0)
  let pending = await count(pendingQuery(db, m, {}))
  for (let i = 0; i < excludeKeys.length && pending > 0; i += KEY_CHUNK) {
    pending -= await count(pendingQuery(db, m, { keys: excludeKeys.slice(i, i + KEY_CHUNK) }))
  }
  return pending
}
