import type { Knex } from 'knex'
import type { KeyColumns, RowChange } from '../dialect.ts'
import { groupByColumns } from '../group-by-columns.ts'
import { columnsOf, partsOf } from '../key-columns.ts'
import { type ColumnType, forgetColumnTypes, postgresColumnTypes } from './column-types.ts'
import { withPostgresDetail } from './errors.ts'
import { toElement, toJsonValue } from './write-values.ts'

/**
 * One UPDATE per set of changed columns. Values travel as one typed array per column, unnested
 * side by side (`unnest($1::integer[], $2::text[])`): PostgreSQL parses each element with its
 * column type's input, ~15 % faster than the JSON form. A column whose values no typed array
 * carries safely (an array or composite column: see ValueKind) sends its group through
 * jsonb_populate_recordset, which casts every value to the column's own type.
 */
export async function postgresWriteBack(trx: Knex.Transaction, table: string, key: KeyColumns, rows: RowChange[]): Promise<number> {
  const keys = columnsOf(key)
  const types = await postgresColumnTypes(trx, table)
  let written = 0
  for (const [columns, group] of groupByColumns(rows)) {
    const typed = [...keys, ...columns].map((c) => types.get(c))
    const statement = typed.every((t) => t?.kind)
      ? typedUpdate(table, keys, columns, typed as ColumnType[], group)
      : jsonUpdate(table, key, columns, group)
    // Rows come in key order: bounding t's key lets PostgreSQL join by one index range scan.
    const first = partsOf(key, group[0]!.key) as Knex.Value[]
    const last = partsOf(key, group[group.length - 1]!.key) as Knex.Value[]
    const bindings = [...statement.bindings, ...keys.flatMap((k) => [k, k]), ...keys, ...first, ...keys, ...last]
    const update = trx.raw(`${statement.sql} WHERE ${keyMatch(keys)} AND ${range(keys)}`, bindings)
    try {
      written += (await update).rowCount ?? 0
    } catch (error) {
      forgetColumnTypes(trx, table) // a column's type may have changed since it was read: read it again next time
      throw inDatabaseWords(error, update)
    }
  }
  return written
}

/**
 * `error` with the database's own message: without the UPDATE knex puts in front (evolvekit's
 * statement, ~600 characters a person can do nothing with, stored with every failed object), and
 * with what PostgreSQL says besides it: DETAIL names the row a constraint refused (`Key (code,
 * slot)=(C2, 1) already exists.`), HINT what to do. The same error object: its SQLSTATE still
 * decides what happens next (a retry, a fault, isolating the row).
 */
function inDatabaseWords(error: unknown, statement: Knex.Raw): unknown {
  if (!(error instanceof Error)) return error
  // knex's prefix is the statement as sent (placeholders, no values) and ' - '.
  const prefix = `${statement.toSQL().toNative().sql} - `
  error.message = withPostgresDetail(error.message.startsWith(prefix) ? error.message.slice(prefix.length) : error.message, error)
  return error
}

interface Statement {
  sql: string
  bindings: Knex.Value[]
}

function typedUpdate(table: string, keys: string[], columns: string[], types: ColumnType[], group: RowChange[]): Statement {
  const arrays = [...keys, ...columns].map(() => [] as (string | null)[])
  for (const row of group) {
    const parts = keys.length === 1 ? [row.key] : (row.key as unknown[])
    keys.forEach((_, i) => arrays[i]!.push(toElement(types[i]!.kind!, parts[i])))
    columns.forEach((c, i) => arrays[keys.length + i]!.push(toElement(types[keys.length + i]!.kind!, row.changes[c])))
  }
  // The type names come from format_type (quoted where needed); a `?` in one must not read as a knex placeholder.
  const unnest = types.map((t) => `?::${t.sql.replaceAll('?', '\\?')}[]`).join(', ')
  const names = [...keys, ...columns].map(() => '??').join(', ')
  return {
    sql: `UPDATE ?? AS t SET ${sets(columns)} FROM unnest(${unnest}) AS v(${names})`,
    // pg sends each JS array as an array literal (escaped, NULL for null).
    bindings: [table, ...columns.flatMap((c) => [c, c]), ...(arrays as unknown as Knex.Value[]), ...keys, ...columns],
  }
}

function jsonUpdate(table: string, key: KeyColumns, columns: string[], group: RowChange[]): Statement {
  const records = group.map((r) => toJsonRecord(key, r))
  return {
    sql: `UPDATE ?? AS t SET ${sets(columns)} FROM jsonb_populate_recordset(NULL::??, ?::jsonb) AS v`,
    bindings: [table, ...columns.flatMap((c) => [c, c]), table, JSON.stringify(records)],
  }
}

const sets = (columns: string[]) => columns.map(() => '?? = v.??').join(', ')
const keyMatch = (keys: string[]) => keys.map(() => 't.?? = v.??').join(' AND ')
const tuple = (keys: string[], item: string) => (keys.length === 1 ? item : `(${keys.map(() => item).join(', ')})`)
const range = (keys: string[]) => `${tuple(keys, 't.??')} >= ${tuple(keys, '?')} AND ${tuple(keys, 't.??')} <= ${tuple(keys, '?')}`

/** What `plan` prints: the typed-array form, with each column's type named in angle brackets. */
export function postgresWriteBackTemplate(table: string, key: KeyColumns, columns: string[]): string {
  const keys = columnsOf(key)
  const q = (name: string) => `"${name}"`
  const sets = columns.map((c) => `${q(c)} = v.${q(c)}`).join(', ')
  // Quoted as knex quotes `??`: each dot-separated part on its own, so `app.items` is schema app.
  const name = table.split('.').map(q).join('.')
  const all = [...keys, ...columns]
  const unnest = all.map((c, i) => `$${i + 1}::<type of ${q(c)}>[]`).join(', ')
  const match = keys.map((k) => `t.${q(k)} = v.${q(k)}`).join(' AND ')
  const t = keys.length === 1 ? `t.${q(keys[0]!)}` : `(${keys.map((k) => `t.${q(k)}`).join(', ')})`
  const n = all.length
  return (
    `UPDATE ${name} AS t SET ${sets} FROM unnest(${unnest}) AS v(${all.map(q).join(', ')}) WHERE ${match} AND ${t} >= $${n + 1} AND ${t} <= $${n + 2}\n` +
    `-- columns of array, composite, range or geometric types: FROM jsonb_populate_recordset(NULL::${name}, $1::jsonb) AS v instead`
  )
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
