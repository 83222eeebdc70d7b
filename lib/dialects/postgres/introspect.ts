import type { Knex } from 'knex'
import type { ColumnFacts, KeyColumns } from '../dialect.ts'
import { columnsOf } from '../key-columns.ts'

/*
 * Catalog lookups by to_regclass, not knex's hasTable/columnInfo: those take `app.items` for
 * one table name in the current schema, while every query of a run reads it as schema `app`.
 */

export async function postgresTableColumns(knex: Knex, table: string): Promise<ColumnFacts[] | undefined> {
  const { rows: found } = await knex.raw('SELECT to_regclass(?) IS NOT NULL AS found', [quoteQualified(table)])
  if (!found[0]?.found) return undefined
  // A domain's NOT NULL (typnotnull) counts too. `temporal`: the types pg returns as a JS Date.
  // Its JSON (UTC, milliseconds) is another instant for date and timestamp, and cuts timestamptz's
  // microseconds, so a range's end misses its last row. time and interval come back as text.
  // `generated`: STORED generated columns (attgenerated 's'; PostgreSQL 18 adds virtual ones, 'v').
  // `partitionKey`: a column of a partitioned table's key (expression parts, attnum 0, name none).
  const { rows } = await knex.raw(
    `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type,
            NOT (a.attnotnull OR t.typnotnull) AS nullable,
            (CASE t.typtype WHEN 'd' THEN t.typbasetype ELSE t.oid END) IN ('date'::regtype, 'timestamp'::regtype, 'timestamptz'::regtype) AS temporal,
            a.attgenerated <> '' AS generated,
            COALESCE(a.attnum = ANY (p.partattrs::int2[]), false) AS "partitionKey"
       FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
       LEFT JOIN pg_partitioned_table p ON p.partrelid = a.attrelid
      WHERE a.attrelid = to_regclass(?) AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY a.attnum`,
    [quoteQualified(table)],
  )
  return rows as ColumnFacts[]
}

/** A unique index (or primary key) whose key columns are all columns of the key makes the key unique. */
export async function postgresIsUniqueColumn(knex: Knex, table: string, key: KeyColumns): Promise<boolean> {
  // Expression indexes (attnum 0) and partial indexes do not count; NULLS DISTINCT is moot (keys are NOT NULL).
  const { rows } = await knex.raw(
    `SELECT 1 FROM pg_index i
      WHERE i.indrelid = to_regclass(?) AND i.indisunique AND i.indpred IS NULL AND i.indnkeyatts > 0
        AND NOT EXISTS (
          SELECT 1 FROM unnest((i.indkey::int2[])[0:i.indnkeyatts - 1]) AS k(attnum)
            LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
           WHERE a.attname IS NULL OR NOT (a.attname = ANY (?::text[])))
      LIMIT 1`,
    [quoteQualified(table), columnsOf(key)],
  )
  return rows.length > 0
}

/**
 * The role evolvekit connects as, when row-level security filters what it sees of `table` (a
 * policy applies to it: FORCE ROW LEVEL SECURITY on its own table, or another's table, without
 * BYPASSRLS); else null. PostgreSQL's own judgement (row_security_active), not a copy of its rules.
 */
export async function postgresRowSecurityRole(knex: Knex, table: string): Promise<string | null> {
  const { rows } = await knex.raw('SELECT row_security_active(to_regclass(?)) AS active, current_user AS role', [quoteQualified(table)])
  const row = rows[0] as { active: boolean | null; role: string } | undefined
  return row?.active ? row.role : null
}

/** `schema.table` (split on the first dot) or `table` (found by search_path), quoted for to_regclass. */
export function quoteQualified(table: string): string {
  const dot = table.indexOf('.')
  const parts = dot < 0 ? [table] : [table.slice(0, dot), table.slice(dot + 1)]
  return parts.map((part) => `"${part.replaceAll('"', '""')}"`).join('.')
}

/** EXPLAIN's estimate: instant on any table size, unlike count(*). */
export async function postgresEstimateRows(knex: Knex, query: Knex.QueryBuilder): Promise<number | null> {
  const { rows } = await knex.raw(`EXPLAIN (FORMAT JSON) ${query.toString()}`)
  const plan = rows[0]?.['QUERY PLAN']?.[0]?.Plan
  return typeof plan?.['Plan Rows'] === 'number' ? plan['Plan Rows'] : null
}
