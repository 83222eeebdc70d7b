import type { Knex } from 'knex'
import { isDeepStrictEqual } from 'node:util'
import type { AnyRow } from '../api/define-migration.ts'
import type { RowChange } from '../dialects/dialect.ts'
import { usage } from '../errors.ts'
import type { WorkerContext } from './context.ts'
import type { Migration } from './migration.ts'

/** The table's columns and which of them the database computes (GENERATED ALWAYS AS …). */
export interface Known {
  columns: Set<string>
  generated: string[]
}

/** Per migration, read once and again only when a transform returns a column not among them. */
const known = new WeakMap<Migration, Known>()

/**
 * The table's columns, read on the first batch in the batch's transaction (SQLite's one connection
 * is the transaction's), or again when `refresh` (a transform returned one not among them: a column
 * added since).
 */
async function tableColumns(trx: Knex.Transaction, ctx: WorkerContext, refresh = false): Promise<Known> {
  const cached = known.get(ctx.migration)
  if (cached && !refresh) return cached
  const facts = (await ctx.dialect.tableColumns(trx as unknown as Knex, ctx.migration.table)) ?? []
  const table = { columns: new Set(facts.map((c) => c.name)), generated: facts.filter((c) => c.generated).map((c) => c.name) }
  known.set(ctx.migration, table)
  return table
}

/**
 * The generated columns' values of each row as read, taken before the transform (which may change a
 * row in place); undefined for a table without any. A generated column is never written: the
 * database refuses it ("can only be updated to DEFAULT"), and with it every row of a transform
 * returning the whole row (`{ ...row, email }`). withoutGenerated compares with these.
 */
export async function generatedValues(trx: Knex.Transaction, ctx: WorkerContext, rows: AnyRow[]): Promise<AnyRow[] | undefined> {
  const table = await tableColumns(trx, ctx)
  // Also the columns not known yet: one added since they were read may be a generated one.
  // Only those read: a transform not given one (not among its `columns`) cannot return it as held.
  const held = Object.keys(rows[0] ?? {}).filter((c) => table.generated.includes(c) || !table.columns.has(c))
  if (held.length === 0) return undefined
  return rows.map((row) => Object.fromEntries(held.map((c) => [c, row[c]])))
}

/**
 * `changes` without the generated columns returned with the value the row was read with. Returned
 * with another value (or one the transform was not given: not among its `columns`), one is a broken
 * migration, as a typo is: the run fails at once, naming the column.
 */
export function withoutGenerated(m: Migration, key: unknown, changes: AnyRow, generated: string[], held: AnyRow): AnyRow {
  let kept: AnyRow | undefined
  for (const column of generated) {
    if (!(column in changes)) continue
    if (!(column in held) || !sameValue(changes[column], held[column])) {
      const holds = column in held ? `, which holds ${show(held[column])}` : ' (not among its `columns`)'
      throw usage(
        'E_MIGRATION_INVALID',
        `transform of ${m.name} returned ${show(changes[column])} for the generated column "${column}" of row ${show(key)}${holds}: the database computes "${column}" and it is never written; return it unchanged or leave it out (change the columns it is computed from), then \`evolve run ${m.name}\``,
      )
    }
    kept ??= { ...changes }
    delete kept[column]
  }
  return kept ?? changes
}

/**
 * A transform that returns a column the table does not have (a typo: `emial`) is a broken
 * migration, not a poison row: every batch would fail, and splitting them down to single rows
 * would record the whole table as failed objects, each with the write-back's SQL. So it is a
 * usage error (E_MIGRATION_INVALID) that fails the run at once, saying which column. Gives the
 * table's columns as they are now.
 */
export async function assertReturnedColumns(trx: Knex.Transaction, ctx: WorkerContext, changes: RowChange[]): Promise<Known> {
  const m = ctx.migration
  // A loop, not flatMap: a batch may hold 100,000 rows, and this runs for every batch.
  const unknown = (table: Known) => {
    for (const change of changes) for (const column in change.changes) if (!table.columns.has(column)) return column
    return undefined
  }
  const cached = await tableColumns(trx, ctx)
  if (unknown(cached) === undefined) return cached
  // A column added since they were read: read them again.
  const table = await tableColumns(trx, ctx, true)
  const column = unknown(table)
  if (column === undefined) return table
  throw usage(
    'E_MIGRATION_INVALID',
    `transform of ${m.name} returned column "${column}", which "${m.table}" does not have (columns: ${[...table.columns].join(', ')}): fix the migration, then \`evolve run ${m.name}\``,
  )
}

/** The same value as the database gave it: Dates by their time, bytes by their content, JSON deeply; a number and its text alike. */
function sameValue(returned: unknown, held: unknown): boolean {
  if (isDeepStrictEqual(returned, held)) return true
  const plain = (v: unknown) => typeof v === 'string' || typeof v === 'number' || typeof v === 'bigint'
  return plain(returned) && plain(held) && String(returned) === String(held)
}

/** A value for a message: short (bigint keys arrive as text, parts may be Dates). */
function show(value: unknown): string {
  const text =
    value instanceof Date
      ? value.toISOString()
      : (JSON.stringify(value, (_, v: unknown) => (typeof v === 'bigint' ? String(v) : v)) ?? String(value))
  return text.length > 60 ? `${text.slice(0, 60)}…` : text
}
