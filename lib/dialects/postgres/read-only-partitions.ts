import type { Knex } from 'knex'
import { quoteQualified } from './introspect.ts'

/*
 * Read-only on partitioned tables. PostgreSQL fires a statement-level trigger only for the table
 * the statement names, so one on a partitioned table misses writes addressed to its partitions,
 * and one on a partition misses rows routed to it through its parent. A row-level trigger fires
 * for every row that changes, whichever table the statement named, and one on a partitioned table
 * is cloned onto each partition, present and future (PostgreSQL 13+), and dropped with it.
 */

/** The tables named, then the partitions under them (recursively), named as userTables names them. */
export async function postgresCoveredTables(db: Knex | Knex.Transaction, tables: string[]): Promise<string[]> {
  const { rows } = await db.raw(
    `SELECT DISTINCT CASE WHEN n.nspname = current_schema() THEN c.relname ELSE n.nspname || '.' || c.relname END AS name
       FROM unnest(?::text[]) AS t(name)
       CROSS JOIN LATERAL pg_partition_tree(to_regclass(t.name)) AS p
       JOIN pg_class c ON c.oid = p.relid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE p.level > 0
      ORDER BY 1`,
    [tables.map(quoteQualified)],
  )
  const partitions = (rows as { name: string }[]).map((r) => r.name)
  return [...new Set([...tables, ...partitions])]
}

/** One guarded table as the triggers see it. */
export interface GuardedTable {
  /** As given to install. */
  name: string
  /** regclass text: quoted, and qualified unless the search path finds it. */
  rel: string
  /**
   * It also needs the row-level trigger: it is partitioned (its partitions, and those attached
   * later, are refused rows however addressed) or a partition (rows routed through a parent); not
   * when a partitioned ancestor of it is guarded too, whose trigger is already cloned onto it.
   */
  rows: boolean
}

/** How each of `tables` is guarded (unknown names are left out). */
export async function guardedTables(trx: Knex.Transaction, tables: string[]): Promise<GuardedTable[]> {
  const { rows } = await trx.raw(
    `WITH named AS (SELECT t.name, to_regclass(t.quoted) AS rel, t.i FROM unnest(?::text[], ?::text[]) WITH ORDINALITY AS t(name, quoted, i))
     SELECT named.name, named.rel::text AS rel,
            (c.relkind = 'p' OR c.relispartition) AND NOT EXISTS (
              SELECT 1 FROM pg_partition_ancestors(named.rel) AS a
               WHERE a.relid <> named.rel AND a.relid IN (SELECT rel FROM named)) AS rows
       FROM named JOIN pg_class c ON c.oid = named.rel
      ORDER BY named.i`,
    [tables, tables.map(quoteQualified)],
  )
  return rows as GuardedTable[]
}
