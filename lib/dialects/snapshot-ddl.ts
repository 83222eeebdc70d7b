import type { Knex } from 'knex'

/** One object that depends on (or belongs to) the table, and what a snapshot swap does with it. */
export interface DependentObject {
  kind: string
  name: string
  action: string
}

/** An object a swap cannot carry over correctly (or, added by the core, the migration itself or its key), and what the operator can do about it. */
export interface Refusal {
  kind: string
  name: string
  fix: string
}

/** The kind of a refusal that is about the role evolvekit runs as, not an object of the table. */
export const ROLE_REFUSAL = 'role'

/** A table the role may not act as the owner of, as snapshot mode must. */
export interface NotOwned {
  table: string
  owner: string
  role: string
}

/** What `plan` shows for a snapshot run, and what the run checks before it changes anything. */
export interface SnapshotPreflight {
  objects: DependentObject[]
  refused: Refusal[]
  /** Extra disk the copy needs (the table and its indexes), when the database can tell. */
  extraBytes: number | null
}

/** One swap: `incoming` takes the name `table`, the table now called `table` becomes `outgoing`. */
export interface SwapSpec {
  table: string
  incoming: string
  outgoing: string
  /** Suffix of the incoming table's index names (built under that suffix); they take the original names. */
  incomingSuffix: string
  /** Suffix the outgoing table's indexes are renamed with (where the database can rename indexes). */
  outgoingSuffix: string
  /** True for the forward swap: the incoming copy gets the table's triggers and policies. */
  carry: boolean
  /** Where the database cannot tell rows written since the swap by itself: a counter cell its triggers bump. */
  counter?: { table: string; id: number; column: string }
  lockTimeoutMs: number
}

/**
 * Snapshot-and-swap DDL of one database: copy a table's definition, build its indexes after
 * the data, swap two tables atomically with everything that depends on them. Every method is
 * safe to call again after a crash part-way.
 */
export interface SnapshotDdl {
  preflight(knex: Knex, table: string): Promise<SnapshotPreflight>
  /** The empty copy: columns, defaults, NOT NULL and CHECK constraints, identity, comments; no indexes yet. */
  createShadow(knex: Knex, table: string, shadow: string): Promise<void>
  /** Columns a copy writes (generated ones excluded) and the INSERT's extra clause, if any. */
  copyColumns(knex: Knex, table: string): Promise<{ columns: string[]; overriding: string }>
  /** After the copy: indexes and unique constraints (under `suffix`), foreign keys out, grants, owner. */
  buildShadow(knex: Knex, table: string, shadow: string, suffix: string): Promise<void>
  /** The swap, in one transaction that also runs `inside` (the bookkeeping); returns the swap marker. */
  swap(knex: Knex, spec: SwapSpec, inside: (trx: Knex.Transaction, marker: string) => Promise<void>): Promise<void>
  /** After the swap committed: validates what the swap re-created NOT VALID. */
  afterSwap(knex: Knex, table: string): Promise<void>
  /** What was written to `table` since the swap marked by `marker` (row count then: `rowsAtSwap`); null when nothing. */
  writtenSince(knex: Knex, table: string, marker: string, rowsAtSwap: number): Promise<string | null>
  /** Drops a table this mode made (a shadow or a backup). */
  dropTable(knex: Knex, name: string): Promise<void>
  /** Drops the write counter triggers of snapshot `id` from `table` (cleanup: no revert any more). */
  dropCounter(knex: Knex, table: string, id: number): Promise<void>
  /**
   * Of `tables`, the existing ones the role may not act as the owner of (drop the read-only trigger
   * from, drop, rename, re-own): what undoing a snapshot run needs, checked before it is promised.
   */
  notOwned(knex: Knex, tables: string[]): Promise<NotOwned[]>
}

/** Longest identifier PostgreSQL keeps; SQLite has no limit, one rule for both keeps names alike. */
const MAX_NAME = 63

/** `name` + `suffix`, the name cut so the whole fits in an identifier. */
export function withSuffix(name: string, suffix: string): string {
  return name.slice(0, MAX_NAME - suffix.length) + suffix
}

/** `schema.table` → [schema, table]; `table` → [undefined, table]. */
export function splitTable(table: string): [string | undefined, string] {
  const dot = table.indexOf('.')
  return dot < 0 ? [undefined, table] : [table.slice(0, dot), table.slice(dot + 1)]
}

export const quoteIdent = (name: string): string => `"${name.replaceAll('"', '""')}"`

/** `"schema"."table"` or `"table"`. */
export function quoteTable(table: string): string {
  const [schema, name] = splitTable(table)
  return schema === undefined ? quoteIdent(name) : `${quoteIdent(schema)}.${quoteIdent(name)}`
}
