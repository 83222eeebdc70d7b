import type { Knex } from 'knex'
import type { AnyRow } from '../api/define-migration.ts'
import type { Migration } from './migration.ts'

/*
 * A key is one column or several (a composite key, e.g. tenant_id + id). Its value is the
 * column's value, or an array of the parts in the declared order. Ranges compare row values,
 * `(a, b) > (?, ?)`, which both databases order exactly as `ORDER BY a, b`; a single column
 * compares plainly, so its index (and its collation) serves the boundary query and the
 * range predicates alike.
 */

type KeyOf = Pick<Migration, 'key'>

export const keyColumns = (m: KeyOf): string[] => (typeof m.key === 'string' ? [m.key] : m.key)

/** The key of a row read with the key's columns. */
export function keyOf(m: KeyOf, row: AnyRow): unknown {
  return typeof m.key === 'string' ? row[m.key] : m.key.map((c) => row[c])
}

/**
 * The changes a transform returned, without the key columns it returned unchanged (`{ ...row, email }`).
 * A changed key is refused: rows are written back by their key, and the batch's bounds and
 * bookkeeping name the old one, so it would write another row or lose track of this one.
 */
export function withoutKey(m: KeyOf, key: unknown, changes: AnyRow): AnyRow {
  const columns = keyColumns(m)
  if (!columns.some((c) => c in changes)) return changes
  const parts = keyParts(m, key)
  const kept = { ...changes }
  columns.forEach((column, i) => {
    if (!(column in kept)) return
    if (!sameValue(kept[column], parts[i])) {
      throw new Error(
        `transform changed key column "${column}" of row ${JSON.stringify(String(parts[i]))}: a transform must leave the key as it is`,
      )
    }
    delete kept[column]
  })
  return kept
}

/** Equal as the database would store them: numbers and their strings (bigint keys), bytes, times. */
function sameValue(a: unknown, b: unknown): boolean {
  if (Buffer.isBuffer(a) && Buffer.isBuffer(b)) return a.equals(b)
  if (a instanceof Date && b instanceof Date) return a.valueOf() === b.valueOf()
  if (a === null || a === undefined || b === null || b === undefined) return a == b
  return String(a) === String(b)
}

/** A key as one value per key column. */
export const keyParts = (m: KeyOf, key: unknown): unknown[] => (typeof m.key === 'string' ? [key] : (key as unknown[]))

/** `key op value`, as a row-value comparison for a composite key. */
export function whereKey(query: Knex.QueryBuilder, m: KeyOf, op: '>' | '>=' | '<' | '<=', key: unknown): Knex.QueryBuilder {
  if (typeof m.key === 'string') return query.where(m.key, op, key as Knex.Value)
  const cols = m.key.map(() => '??').join(', ')
  const marks = m.key.map(() => '?').join(', ')
  return query.whereRaw(`(${cols}) ${op} (${marks})`, [...m.key, ...(key as Knex.Value[])])
}

export function whereKeyIn(query: Knex.QueryBuilder, m: KeyOf, keys: unknown[]): Knex.QueryBuilder {
  if (typeof m.key === 'string') return query.whereIn(m.key, keys as Knex.Value[])
  if (keys.length === 0) return query.whereRaw('1 = 0')
  return query.whereIn(m.key, keys as Knex.Value[][])
}

export function orderByKey(query: Knex.QueryBuilder, m: KeyOf, order: 'asc' | 'desc' = 'asc'): Knex.QueryBuilder {
  return query.orderBy(keyColumns(m).map((column) => ({ column, order })))
}

/** The key's name for messages and `plan`: `id`, or `(tenant_id, id)`. */
export const keyName = (m: KeyOf): string => (typeof m.key === 'string' ? m.key : `(${m.key.join(', ')})`)
