import type { Knex } from 'knex'
import type { KeyColumns, RowChange } from '../dialect.ts'
import { groupByColumns } from '../group-by-columns.ts'
import { columnsOf, partsOf } from '../key-columns.ts'

/**
 * One UPDATE per set of changed columns, fed by jsonb_populate_recordset so
 * PostgreSQL casts every value to the column's own type (no per-type casts here).
 */
export async function postgresWriteBack(trx: Knex.Transaction, table: string, key: KeyColumns, rows: RowChange[]): Promise<number> {
  const keys = columnsOf(key)
  let written = 0
  for (const [columns, group] of groupByColumns(rows)) {
    const records = group.map((r) => toJsonRecord(key, r))
    const sets = columns.map(() => '?? = v.??').join(', ')
    const ids = columns.flatMap((c) => [c, c])
    // Rows come in key order: bounding t's key lets PostgreSQL join by one index range scan.
    const first = partsOf(key, group[0]!.key) as Knex.Value[]
    const last = partsOf(key, group[group.length - 1]!.key) as Knex.Value[]
    const result = await trx.raw(
      `UPDATE ?? AS t SET ${sets} FROM jsonb_populate_recordset(NULL::??, ?::jsonb) AS v WHERE ${keyMatch(keys)} AND ${range(keys)}`,
      [table, ...ids, table, JSON.stringify(records), ...keys.flatMap((k) => [k, k]), ...keys, ...first, ...keys, ...last],
    )
    written += result.rowCount ?? 0
  }
  return written
}

const keyMatch = (keys: string[]) => keys.map(() => 't.?? = v.??').join(' AND ')
const tuple = (keys: string[], item: string) => (keys.length === 1 ? item : `(${keys.map(() => item).join(', ')})`)
const range = (keys: string[]) => `${tuple(keys, 't.??')} >= ${tuple(keys, '?')} AND ${tuple(keys, 't.??')} <= ${tuple(keys, '?')}`

export function postgresWriteBackTemplate(table: string, key: KeyColumns, columns: string[]): string {
  const keys = columnsOf(key)
  const sets = columns.map((c) => `"${c}" = v."${c}"`).join(', ')
  // Quoted as knex quotes `??`: each dot-separated part on its own, so `app.items` is schema app.
  const name = table
    .split('.')
    .map((part) => `"${part}"`)
    .join('.')
  const match = keys.map((k) => `t."${k}" = v."${k}"`).join(' AND ')
  const t = keys.length === 1 ? `t."${keys[0]}"` : `(${keys.map((k) => `t."${k}"`).join(', ')})`
  return `UPDATE ${name} AS t SET ${sets} FROM jsonb_populate_recordset(NULL::${name}, $1::jsonb) AS v WHERE ${match} AND ${t} >= $2 AND ${t} <= $3`
}

function toJsonRecord(key: KeyColumns, row: RowChange): Record<string, unknown> {
  const record: Record<string, unknown> = {}
  const parts = partsOf(key, row.key)
  columnsOf(key).forEach((column, i) => (record[column] = toJsonValue(parts[i])))
  for (const [column, value] of Object.entries(row.changes)) {
    record[column] = toJsonValue(value)
  }
  return record
}

function toJsonValue(value: unknown): unknown {
  // bytea's text input accepts \x-hex; a Buffer's default JSON form would not parse.
  if (Buffer.isBuffer(value)) return `\\x${value.toString('hex')}`
  if (typeof value === 'bigint') return value.toString()
  if (value instanceof Date) return localTimestamp(value)
  return value
}

/**
 * A Date as pg sends it: local time with its offset. JSON's UTC form would put the UTC
 * clock time into a `timestamp without time zone` column, unlike every other write.
 */
function localTimestamp(date: Date): string {
  const pad = (n: number, width = 2) => String(Math.abs(n)).padStart(width, '0')
  const offset = -date.getTimezoneOffset()
  const sign = offset >= 0 ? '+' : '-'
  return (
    `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T` +
    `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.${pad(date.getMilliseconds(), 3)}` +
    `${sign}${pad(Math.floor(Math.abs(offset) / 60))}:${pad(Math.abs(offset) % 60)}`
  )
}
