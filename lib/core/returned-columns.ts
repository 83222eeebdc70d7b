import type { Knex } from 'knex'
import type { RowChange } from '../dialects/dialect.ts'
import { usage } from '../errors.ts'
import type { WorkerContext } from './context.ts'
import type { Migration } from './migration.ts'

/** The table's columns, per migration, read once and again only when a transform returns one not among them. */
const known = new WeakMap<Migration, Set<string>>()

/**
 * A transform that returns a column the table does not have (a typo: `emial`) is a broken
 * migration, not a poison row: every batch would fail, and splitting them down to single rows
 * would record the whole table as failed objects, each with the write-back's SQL. So it is a
 * usage error (E_MIGRATION_INVALID) that fails the run at once, saying which column.
 */
export async function assertReturnedColumns(trx: Knex.Transaction, ctx: WorkerContext, changes: RowChange[]): Promise<void> {
  const m = ctx.migration
  let columns = known.get(m)
  // A loop, not flatMap: a batch may hold 100,000 rows, and this runs for every batch.
  const unknown = () => {
    for (const change of changes) for (const column in change.changes) if (!columns!.has(column)) return column
    return undefined
  }
  if (columns && unknown() === undefined) return
  // First batch, or a column added since it was read: read the table's columns again, in the
  // batch's transaction (SQLite's one connection is the transaction's).
  columns = new Set((await ctx.dialect.tableColumns(trx as unknown as Knex, m.table))?.map((c) => c.name) ?? [])
  known.set(m, columns)
  const column = unknown()
  if (column === undefined) return
  throw usage(
    'E_MIGRATION_INVALID',
    `transform of ${m.name} returned column "${column}", which "${m.table}" does not have (columns: ${[...columns].join(', ')}): fix the migration, then \`evolve run ${m.name}\``,
  )
}
