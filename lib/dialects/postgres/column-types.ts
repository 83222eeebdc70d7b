import type { Knex } from 'knex'
import { quoteQualified } from './introspect.ts'

/**
 * How the write-back sends a column's values: `text` = as the type's text input in a typed
 * array, `json` = JSON text in a json/jsonb array, `null` = no typed array carries it safely
 * (arrays would be flattened by unnest, composite, range, geometric and other types have
 * their own literal syntax), so the batch falls back to jsonb_populate_recordset.
 */
export type ValueKind = 'text' | 'json' | null

export interface ColumnType {
  /**
   * The column's type as SQL spells it, WITHOUT its typmod (`character varying`, `numeric`): the
   * SET applies the column's current length/precision as any UPDATE does. A typmod cast here
   * would truncate silently (`'abcd'::varchar(3)`) and would go stale after an ALTER.
   */
  sql: string
  kind: ValueKind
}

// Built-in type OIDs are fixed by PostgreSQL.
const JSON_OIDS = new Set([114, 3802]) // json, jsonb
const TEXT_INPUT_U = new Set([17, 2950]) // bytea, uuid: category U, plain text input
const TEXT_CATEGORIES = new Set(['B', 'D', 'E', 'I', 'N', 'S', 'T', 'V'])
// Without a typmod `character` and `bit` mean length 1 (and a cast truncates): their unbounded forms.
const UNBOUNDED: Record<number, string> = { 1042: 'bpchar', 1560: 'varbit' }

/**
 * Types per knex instance (its config object, shared by its transactions) and table: one catalog
 * query per table, not per batch (its planning alone cost ~0.6 ms). Without typmods the cached
 * types stay right through any ALTER that keeps the base type; a write-back that fails drops
 * its table's entry (see forgetColumnTypes), so a changed type is read again on the retry.
 */
const cache = new WeakMap<object, Map<string, Promise<Map<string, ColumnType>>>>()

export function postgresColumnTypes(trx: Knex.Transaction, table: string): Promise<Map<string, ColumnType>> {
  const byTable = cache.get(trx.client.config) ?? new Map<string, Promise<Map<string, ColumnType>>>()
  cache.set(trx.client.config, byTable)
  let types = byTable.get(table)
  if (!types) {
    types = readColumnTypes(trx, table)
    types.catch(() => byTable.delete(table))
    byTable.set(table, types)
  }
  return types
}

export function forgetColumnTypes(trx: Knex.Transaction, table: string): void {
  cache.get(trx.client.config)?.delete(table)
}

async function readColumnTypes(trx: Knex.Transaction, table: string): Promise<Map<string, ColumnType>> {
  // A domain's category is its base type's; by OID only base types count (a domain over uuid falls back).
  const { rows } = await trx.raw(
    `SELECT a.attname AS name, a.atttypid::int AS oid, t.typcategory AS category, format_type(a.atttypid, NULL) AS sql
       FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
      WHERE a.attrelid = to_regclass(?) AND a.attnum > 0 AND NOT a.attisdropped`,
    [quoteQualified(table)],
  )
  const types = new Map<string, ColumnType>()
  for (const r of rows as { name: string; oid: number; category: string; sql: string }[]) {
    const kind = JSON_OIDS.has(r.oid) ? 'json' : TEXT_CATEGORIES.has(r.category) || TEXT_INPUT_U.has(r.oid) ? 'text' : null
    types.set(r.name, { sql: UNBOUNDED[r.oid] ?? r.sql, kind })
  }
  return types
}
