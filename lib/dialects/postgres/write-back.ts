import type { Knex } from 'knex'
import type { RowChange } from '../dialect.ts'
import { groupByColumns } from '../group-by-columns.ts'

/**
 * One UPDATE per set of changed columns, fed by jsonb_populate_recordset so
 * PostgreSQL casts every value to the column's own type (no per-type casts here).
 */
export async function postgresWriteBack(trx: Knex.Transaction, table: string, key: string, rows: RowChange[]): Promise<number> {
  let written = 0
  for (const [columns, group] of groupByColumns(rows)) {
    const records = group.map((r) => toJsonRecord(key, r))
    const sets = columns.map(() => '?? = v.??').join(', ')
    const ids = columns.flatMap((c) => [c, c])
    // Rows come in key order: bounding t's key lets PostgreSQL join by one index range scan.
    const first = group[0]!.key as Knex.Value
    const last = group[group.length - 1]!.key as Knex.Value
    const result = await trx.raw(
      `UPDATE ?? AS t SET ${sets} FROM jsonb_populate_recordset(NULL::??, ?::jsonb) AS v WHERE t.?? = v.?? AND t.?? >= ? AND t.?? <= ?`,
      [table, ...ids, table, JSON.stringify(records), key, key, key, first, key, last],
    )
    written += result.rowCount ?? 0
  }
  return written
}

export function postgresWriteBackTemplate(table: string, key: string, columns: string[]): string {
  const sets = columns.map((c) => `"${c}" = v."${c}"`).join(', ')
  // Quoted as knex quotes `??`: each dot-separated part on its own, so `app.items` is schema app.
  const name = table
    .split('.')
    .map((part) => `"${part}"`)
    .join('.')
  return `UPDATE ${name} AS t SET ${sets} FROM jsonb_populate_recordset(NULL::${name}, $1::jsonb) AS v WHERE t."${key}" = v."${key}" AND t."${key}" >= $2 AND t."${key}" <= $3`
}

function toJsonRecord(key: string, row: RowChange): Record<string, unknown> {
  const record: Record<string, unknown> = { [key]: row.key }
  for (const [column, value] of Object.entries(row.changes)) {
    record[column] = toJsonValue(value)
  }
  return record
}

function toJsonValue(value: unknown): unknown {
  // bytea's text input accepts \x-hex; a Buffer's default JSON form would not parse.
  if (Buffer.isBuffer(value)) return `\\x${value.toString('hex')}`
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
