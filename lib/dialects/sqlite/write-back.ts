import type { Knex } from 'knex'
import type { KeyColumns, RowChange } from '../dialect.ts'
import { groupByColumns } from '../group-by-columns.ts'
import { columnsOf, partsOf } from '../key-columns.ts'

// SQLite's default SQLITE_MAX_VARIABLE_NUMBER is 32766; stay well below it.
const MAX_VARIABLES = 30000

/** UPDATE … FROM (VALUES …): one statement per chunk of rows that change the same columns. */
export async function sqliteWriteBack(trx: Knex.Transaction, table: string, key: KeyColumns, rows: RowChange[]): Promise<number> {
  const keys = columnsOf(key)
  let written = 0
  for (const [columns, group] of groupByColumns(rows)) {
    const width = columns.length + keys.length
    const chunkSize = Math.max(1, Math.floor(MAX_VARIABLES / width))
    // VALUES names its columns column1, column2…: the key's parts first, then the changes.
    const sets = columns.map((_, i) => `?? = v.column${i + keys.length + 1}`).join(', ')
    const match = keys.map((_, i) => `??.?? = v.column${i + 1}`).join(' AND ')
    const tuple = `(${new Array(width).fill('?').join(', ')})`
    for (let start = 0; start < group.length; start += chunkSize) {
      const chunk = group.slice(start, start + chunkSize)
      const values: Knex.Value[] = chunk.flatMap((r) => [
        ...partsOf(key, r.key).map(toSqlite),
        ...columns.map((c) => toSqlite(r.changes[c])),
      ])
      const result = await trx.raw(`UPDATE ?? SET ${sets} FROM (VALUES ${chunk.map(() => tuple).join(', ')}) AS v WHERE ${match}`, [
        table,
        ...columns,
        ...values,
        ...keys.flatMap((k) => [table, k]),
      ])
      written += Number((result as { changes?: number }).changes ?? chunk.length)
    }
  }
  return written
}

export function sqliteWriteBackTemplate(table: string, key: KeyColumns, columns: string[]): string {
  const keys = columnsOf(key)
  const sets = columns.map((c, i) => `"${c}" = v.column${i + keys.length + 1}`).join(', ')
  const match = keys.map((k, i) => `"${table}"."${k}" = v.column${i + 1}`).join(' AND ')
  return `UPDATE "${table}" SET ${sets} FROM (VALUES (?, …), …) AS v WHERE ${match}`
}

/** better-sqlite3 binds only numbers, strings, bigints, buffers and null. */
function toSqlite(value: unknown): Knex.Value {
  if (value === undefined || value === null) return null
  if (typeof value === 'boolean') return value ? 1 : 0
  if (value instanceof Date) return value.valueOf() // as knex's better-sqlite3 client stores dates
  if (Buffer.isBuffer(value) || typeof value !== 'object') return value as Knex.Value
  return JSON.stringify(value)
}
