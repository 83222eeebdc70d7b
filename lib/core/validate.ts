import type { Knex } from 'knex'
import type { Dialect } from '../dialects/dialect.ts'
import { usage } from '../errors.ts'
import type { Migration } from './migration.ts'
import { pendingQuery } from './planner.ts'

/**
 * Checks a migration against the live schema before anything runs. Read-only:
 * a migration that fails here has changed nothing, not even the tracking tables.
 */
export async function validateAgainstDatabase(knex: Knex, dialect: Dialect, m: Migration): Promise<void> {
  if (!(await knex.schema.hasTable(m.table))) {
    throw usage('E_MIGRATION_INVALID', `${m.file}: table "${m.table}" does not exist (field "table")`)
  }
  const columns = Object.keys(await knex(m.table).columnInfo())
  if (!columns.includes(m.key)) {
    throw usage('E_MIGRATION_INVALID', `${m.file}: key column "${m.key}" does not exist in "${m.table}" (field "key"; columns: ${columns.join(', ')})`)
  }
  if (!(await dialect.isUniqueColumn(knex, m.table, m.key))) {
    throw usage(
      'E_MIGRATION_INVALID',
      `${m.file}: key column "${m.key}" of "${m.table}" is not unique (field "key"): use the primary key or a column with a unique index`,
    )
  }
  for (const column of Object.keys(m.set ?? {})) {
    if (!columns.includes(column)) {
      throw usage('E_MIGRATION_INVALID', `${m.file}: column "${column}" does not exist in "${m.table}" (field "set")`)
    }
  }
  if (m.pending) {
    // Compiling and running the filter once (LIMIT 0) catches a broken `pending` before any batch.
    try {
      await pendingQuery(knex, m, {}).select(m.key).limit(0)
    } catch (err) {
      throw usage('E_MIGRATION_INVALID', `${m.file}: field "pending" produced invalid SQL: ${(err as Error).message.split('\n')[0]}`)
    }
  }
}
