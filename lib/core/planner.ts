import type { Knex } from 'knex'
import type { Dialect } from '../dialects/dialect.ts'
import type { BatchBounds } from '../store/batches.ts'
import type { Db } from '../store/db.ts'
import { KEY_CHUNK, failedKeys } from '../store/failures.ts'
import type { Migration } from './migration.ts'
import { keyColumns, keyOf, orderByKey, whereKey, whereKeyIn } from './keys.ts'

/*
 * Every statement a batch runs is built here, apart from executing it, so `plan`
 * can print exactly what `run` will do.
 */

/** Rows of `m.table` inside a batch's bounds; with `onlyPending`, narrowed by `m.pending`. */
export function batchQuery(db: Db, m: Migration, bounds: BatchBounds, onlyPending = true): Knex.QueryBuilder {
  const query = db(m.table)
  if (bounds.keys) whereKeyIn(query, m, bounds.keys)
  else {
    if (bounds.lo !== undefined) whereKey(query, m, '>', bounds.lo)
    if (bounds.hi !== undefined) whereKey(query, m, '<=', bounds.hi)
  }
  if (bounds.without) whereKeyNotIn(query, m, bounds.without)
  if (onlyPending && m.pending) {
    const pending = m.pending
    // Parenthesised, so a filter built with orWhere cannot escape the batch's bounds.
    query.where((sub) => {
      pending(sub)
    })
  }
  return query
}

/** Leaves `keys` out, a chunk per NOT IN so no list outgrows what the databases take. */
function whereKeyNotIn(query: Knex.QueryBuilder, m: Migration, keys: unknown[]): void {
  for (let i = 0; i < keys.length; i += KEY_CHUNK) {
    const chunk = keys.slice(i, i + KEY_CHUNK)
    if (typeof m.key === 'string') query.whereNotIn(m.key, chunk as Knex.Value[])
    else query.whereNotIn(m.key, chunk as Knex.Value[][])
  }
}

/** Bound parameters a sweep spends at most on leaving failed objects out: far below SQLite's 32766. */
const MAX_SKIPPED_PARTS = 10 * KEY_CHUNK

/**
 * The keys a sweep leaves alone: the run's failed objects. They wait for `evolve retry`; a sweep
 * that took them again would only fail them again (for a throwing transform, row by row; for a
 * database error, by splitting its batch down to them, one transaction per split), every sweep.
 * They are few (a run stops at `maxFailures`); past MAX_SKIPPED_PARTS bound values (a very high
 * maxFailures), none is skipped rather than build a statement the database refuses: the sweeps
 * then try them again, which costs time, never correctness.
 */
export async function skippedBySweeps(db: Db, m: Migration): Promise<unknown[] | undefined> {
  const keys = await failedKeys(db, m.name)
  if (keys.length === 0 || keys.length * keyColumns(m).length > MAX_SKIPPED_PARTS) return undefined
  return keys
}

/** A sweep batch's bounds with the failed objects left out (skippedBySweeps); other batches as they are. */
export async function withoutFailed<B extends BatchBounds & { phase: string }>(db: Db, m: Migration, batch: B): Promise<B> {
  if (batch.phase !== 'sweep') return batch
  const without = await skippedBySweeps(db, m)
  return without ? { ...batch, without } : batch
}

export function pendingQuery(db: Db, m: Migration, bounds: BatchBounds): Knex.QueryBuilder {
  return batchQuery(db, m, bounds, true)
}

/**
 * The rows a batch evolves, re-read under lock inside the batch transaction: the key and the
 * declared `columns` (every column when none are declared). `after` and `limit` read the
 * batch in key-ordered chunks, so a batch of wide rows can stop at its byte cap.
 */
export function lockedRowsQuery(
  db: Db,
  dialect: Dialect,
  m: Migration,
  bounds: BatchBounds,
  after?: unknown,
  limit?: number,
): Knex.QueryBuilder {
  const query = batchQuery(db, m, bounds).select(rowColumns(m))
  if (after !== undefined) whereKey(query, m, '>', after)
  if (limit !== undefined) query.limit(limit)
  return dialect.lockRows(orderByKey(query, m))
}

/** What transform/up read of each row. */
export function rowColumns(m: Migration): string[] | '*' {
  if (!m.columns) return '*'
  return [...new Set([...keyColumns(m), ...m.columns])]
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
export function boundaryQuery(
  db: Db,
  m: Migration,
  after: unknown,
  size: number,
  onlyPending: boolean,
  without?: unknown[],
): Knex.QueryBuilder {
  return orderByKey(batchQuery(db, m, { lo: after, without }, onlyPending).select(keyColumns(m)), m)
    .offset(size - 1)
    .limit(1)
}

/** The last key past `after`: ordered, not max(), which some key types (uuid, bytea) lack. */
export function lastKeyQuery(db: Db, m: Migration, after: unknown, onlyPending: boolean, without?: unknown[]): Knex.QueryBuilder {
  return orderByKey(batchQuery(db, m, { lo: after, without }, onlyPending).select(keyColumns(m)), m, 'desc').limit(1)
}

/** The end of the next range: `full` when it spans `size` keys, false for the table's tail. */
export async function nextBoundary(
  db: Db,
  m: Migration,
  after: unknown,
  size: number,
  onlyPending: boolean,
): Promise<{ key: unknown; full: boolean } | undefined> {
  // A sweep (onlyPending) counts no failed object: a range of nothing but failures ends the pass.
  const without = onlyPending ? await skippedBySweeps(db, m) : undefined
  const row = await boundaryQuery(db, m, after, size, onlyPending, without).first()
  if (row) return { key: keyOf(m, row), full: true }
  const last = await lastKeyQuery(db, m, after, onlyPending, without).first()
  return last === undefined ? undefined : { key: keyOf(m, last), full: false }
}

/** Keys of the rows in `bounds` that still need evolving, in key order. */
export async function pendingKeys(db: Db, m: Migration, bounds: BatchBounds, limit?: number): Promise<unknown[]> {
  const query = orderByKey(pendingQuery(db, m, bounds).select(keyColumns(m)), m)
  if (limit !== undefined) query.limit(limit)
  const rows = await query
  return rows.map((r: Record<string, unknown>) => keyOf(m, r))
}

/**
 * Rows (pending ones, with `pending`) whose key has a NULL part: no range holds them. Only SQLite
 * lets one in, under a primary key that is not INTEGER (validation refuses a nullable key, but a
 * NULL may be written during the run). The key's index answers it at once.
 */
export async function countNullKeys(db: Db, m: Migration): Promise<number> {
  const query = batchQuery(db, m, {}, true).where((sub) => {
    for (const column of keyColumns(m)) sub.orWhereNull(column)
  })
  return Number((await query.count({ n: '*' }).first())?.n ?? 0)
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
