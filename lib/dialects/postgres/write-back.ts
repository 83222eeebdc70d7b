import type { Knex } from 'knex'
import type { RowChange } from '../dialect.ts'
import { groupByColumns } from '../group-by-columns.ts'

/**
 * One UPDATE per set of changed columns, fed by jsonb_populate_recordset so
 * PostgreSQL casts every value to the column's own type (no per-type casts here).
 */
export async function postgresWriteBack(
  trx: Knex.Transaction,
  table: string,
  key: string,
  rows: RowChange[],
): Promise<number> {
  let written = 0
  for (const [columns, group] of groupByColumns(rows)) {
    const records = group.map((r) => toJsonRecord(key, r))
    const sets = columns.map(() => '?? = v.??').join(', ')
    const ids = columns.flatMap((c) => [c, c])
    const result = await trx.raw(
      `UPDATE ?? AS t SET ${sets} FROM jsonb_populate_recordset(NULL::??, ?::jsonb) AS v WHERE t.?? = v.??`,
      [table, ...ids, table, JSON.stringify(records), key, key],
    )
    written += result.rowCount ?? 0
  }
  return written
}

export function postgresWriteBackTemplate(table: string, key: string, columns: string[]): string {
  const sets = columns.map((c) => `"${c}" = v."${c}"`).join(', ')
  return `UPDATE "${table}" AS t SET ${sets} FROM jsonb_populate_recordset(NULL::"${table}", $1::jsonb) AS v WHERE t."${key}" = v."${key}"`
}

function toJsonRecord(key: string, row: RowChange): Record<string, unknown> {
  const record: Record<string, unknown> = { [key]: row.key }
  for (const [column, value] of Object.entries(row.changes)) {
    // bytea's text input accepts \x-hex; a Buffer's default JSON form would not parse.
    record[column] = Buffer.isBuffer(value) ? `\\x${value.toString('hex')}` : value
  }
  return record
}
