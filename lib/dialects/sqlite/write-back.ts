import type { Knex } from 'knex'
import type { KeyColumns, RowChange } from '../dialect.ts'
import { groupByColumns } from '../group-by-columns.ts'
import { columnsOf, partsOf } from '../key-columns.ts'
import { withNativeConnection } from './native-connection.ts'

// Rows per statement: a statement of 100 rows prepared once and run again for every 100 rows took
// half the time of one statement per 15,000 rows prepared anew (SQLite compiles each VALUES tuple,
// and knex prepares every query it runs): 365 against 726 ms per 1M rows (docs/benchmarks.md).
const ROWS_PER_STATEMENT = 100
// SQLite's default SQLITE_MAX_VARIABLE_NUMBER is 32766; stay well below it.
const MAX_VARIABLES = 30000
const MAX_CACHED = 64

interface Statement {
  run(params: unknown[]): { changes: number }
}
interface Connection {
  prepare(sql: string): Statement
}

/** Per better-sqlite3 connection: its write-back statements, by their SQL. */
const prepared = new WeakMap<Connection, Map<string, Statement>>()

/**
 * UPDATE … FROM (VALUES …), one statement per 100 rows that change the same columns, run on the
 * transaction's own connection so the statements are prepared once per connection, not per batch.
 */
export async function sqliteWriteBack(trx: Knex.Transaction, table: string, key: KeyColumns, rows: RowChange[]): Promise<number> {
  return withNativeConnection(trx, (connection: Connection) => writeBack(trx, connection, table, key, rows))
}

function writeBack(trx: Knex.Transaction, connection: Connection, table: string, key: KeyColumns, rows: RowChange[]): number {
  const keys = columnsOf(key)
  let written = 0
  for (const [columns, group] of groupByColumns(rows)) {
    const perStatement = Math.max(1, Math.min(ROWS_PER_STATEMENT, Math.floor(MAX_VARIABLES / (columns.length + keys.length))))
    const full = group.length - (group.length % perStatement)
    const many = full > 0 ? statement(trx, connection, table, keys, columns, perStatement) : undefined
    for (let start = 0; start < full; start += perStatement)
      written += many!.run(bindings(key, columns, group, start, perStatement)).changes
    // The last rows one by one: a statement per remainder size would be prepared for one use.
    const one = full < group.length ? statement(trx, connection, table, keys, columns, 1) : undefined
    for (let i = full; i < group.length; i++) written += one!.run(bindings(key, columns, group, i, 1)).changes
  }
  return written
}

function bindings(key: KeyColumns, columns: string[], rows: RowChange[], start: number, count: number): unknown[] {
  const values: unknown[] = []
  for (let i = start; i < start + count; i++) {
    const row = rows[i]!
    for (const part of partsOf(key, row.key)) values.push(toSqlite(part))
    for (const column of columns) values.push(toSqlite(row.changes[column]))
  }
  return values
}

function statement(
  trx: Knex.Transaction,
  connection: Connection,
  table: string,
  keys: string[],
  columns: string[],
  rows: number,
): Statement {
  // VALUES names its columns column1, column2…: the key's parts first, then the changes.
  const id = (name: string) => trx.raw('??', [name]).toQuery() // knex's quoting, `schema`.`table` included
  const sets = columns.map((c, i) => `${id(c)} = v.column${i + keys.length + 1}`).join(', ')
  const match = keys.map((k, i) => `${id(table)}.${id(k)} = v.column${i + 1}`).join(' AND ')
  const tuple = `(${new Array(columns.length + keys.length).fill('?').join(', ')})`
  const sql = `UPDATE ${id(table)} SET ${sets} FROM (VALUES ${new Array(rows).fill(tuple).join(', ')}) AS v WHERE ${match}`
  let cache = prepared.get(connection)
  if (!cache) prepared.set(connection, (cache = new Map()))
  let stmt = cache.get(sql)
  if (!stmt) {
    // Two statements per set of changed columns; a transform returning ever new sets must not grow it for good.
    if (cache.size >= MAX_CACHED) cache.clear()
    cache.set(sql, (stmt = connection.prepare(sql)))
  }
  return stmt
}

export function sqliteWriteBackTemplate(table: string, key: KeyColumns, columns: string[]): string {
  const keys = columnsOf(key)
  const sets = columns.map((c, i) => `"${c}" = v.column${i + keys.length + 1}`).join(', ')
  const match = keys.map((k, i) => `"${table}"."${k}" = v.column${i + 1}`).join(' AND ')
  return `UPDATE "${table}" SET ${sets} FROM (VALUES (?, …), …) AS v WHERE ${match}`
}

/** better-sqlite3 binds only numbers, strings, bigints, buffers and null. */
function toSqlite(value: unknown): unknown {
  if (value === undefined || value === null) return null
  if (typeof value === 'boolean') return value ? 1 : 0
  if (value instanceof Date) return value.valueOf() // as knex's better-sqlite3 client stores dates
  if (Buffer.isBuffer(value) || typeof value !== 'object') return value
  return JSON.stringify(value)
}
