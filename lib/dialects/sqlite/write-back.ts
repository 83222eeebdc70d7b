import type { Knex } from 'knex'
import type { RowChange } from '../dialect.ts'
import { groupByColumns } from '../group-by-columns.ts'

// SQLite's default SQLITE_MAX_VARIABLE_NUMBER is 32766; stay well below it.
const MAX_VARIABLES = 30000

/** UPDATE … FROM (VALUES …): one statement per chunk of rows that change the same columns. */
export async function sqliteWriteBack(trx: Knex.Transaction, table: string, key: string, rows: RowChange[]): Promise<number> {
  let written = 0
  for (const [columns, group] of groupByColumns(rows)) {
    const width = columns.length + 1
    const chunkSize = Math.max(1, Math.floor(MAX_VARIABLES / width))
    const sets = columns.map((_, i) => `?? = v.column${i + 2}`).join(', ')
    const tuple = `(${new Array(width).fill('?').join(', ')})`
    for (let start = 0; start < group.length; start += chunkSize) {
      const chunk = group.slice(start, start + chunkSize)
      const values: Knex.Value[] = chunk.flatMap((r) => [toSqlite(r.key), ...columns.map((c) => toSqlite(r.changes[c]))])
      const result = await trx.raw(
        `UPDATE ?? SET ${sets} FROM (VALUES ${chunk.map(() => tuple).join(', ')}) AS v WHERE ??.?? = v.column1`,
        [table, ...columns, ...values, table, key],
      )
      written += Number((result as { changes?: number }).changes ?? chunk.length)
    }
  }
  return written
}

export function sqliteWriteBackTemplate(table: string, key: string, columns: string[]): string {
  const sets = columns.map((c, i) => `"${c}" = v.column${i + 2}`).join(', ')
  return `UPDATE "${table}" SET ${sets} FROM (VALUES (?, …), …) AS v WHERE "${table}"."${key}" = v.column1`
}

/** better-sqlite3 binds only numbers, strings, bigints, buffers and null. */
function toSqlite(value: unknown): Knex.Value {
  if (value === undefined || value === null) return null
  if (typeof value === 'boolean') return value ? 1 : 0
  if (value instanceof Date) return value.valueOf() // as knex's better-sqlite3 client stores dates
  if (Buffer.isBuffer(value) || typeof value !== 'object') return value as Knex.Value
  return JSON.stringify(value)
}
