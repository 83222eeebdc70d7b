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
