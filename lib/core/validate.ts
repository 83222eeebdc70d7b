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
  const facts = await dialect.tableColumns(knex, m.table)
  if (!facts) {
    throw usage('E_MIGRATION_INVALID', `${m.file}: table "${m.table}" does not exist (field "table")`)
  }
  const columns = facts.map((c) => c.name)
  const key = facts.find((c) => c.name === m.key)
  if (!key) {
    throw usage('E_MIGRATION_INVALID', `${m.file}: key column "${m.key}" does not exist in "${m.table}" (field "key"; columns: ${columns.join(', ')})`)
  }
  if (!(await dialect.isUniqueColumn(knex, m.table, m.key))) {
    throw usage(
      'E_MIGRATION_INVALID',
      `${m.file}: key column "${m.key}" of "${m.table}" is not unique (field "key"): use the primary key or a column with a unique index`,
    )
  }
  // Batches are key ranges (lo, hi]: a NULL key is in none of them.
  if (key.nullable) {
    throw usage(
      'E_MIGRATION_INVALID',
      `${m.file}: key column "${m.key}" of "${m.table}" allows NULL (field "key"): rows with a NULL key would never be evolved; use the primary key or a NOT NULL unique column, or declare "${m.key}" NOT NULL`,
    )
  }
  // Range bounds are stored as JSON: a date/time comes back as another value (a Date as UTC
  // text, shifted by the process's offset against a zone-less column), so ranges would drift.
  if (key.temporal) {
    throw usage(
      'E_MIGRATION_INVALID',
      `${m.file}: key column "${m.key}" of "${m.table}" has the date/time type ${key.type} (field "key"): batch bounds of such a key do not survive being stored; use the primary key or a NOT NULL unique number or text column`,
    )
  }
  for (const column of Object.keys(m.set ?? {})) {
    if (!columns.includes(column)) {
      throw usage('E_MIGRATION_INVALID', `${m.file}: column "${column}" does not exist in "${m.table}" (field "set")`)
    }
  }
  for (const [column, expression] of Object.entries(m.set ?? {})) {
    // Built as a batch builds it (expression(knex)) and selected with LIMIT 0: the database compiles
    // it without reading a row. Otherwise a typo would fail every batch, and splitting the failed
    // batches would record healthy rows as failed.
    try {
      await knex(m.table).select(knex.raw('? AS ??', [expression(knex), column])).limit(0)
    } catch (err) {
      throw usage('E_MIGRATION_INVALID', `${m.file}: field "set.${column}" produced invalid SQL: ${firstLine(err)}`)
    }
  }
  if (m.pending) {
    // Compiling and running the filter once (LIMIT 0) catches a broken `pending` before any batch.
    try {
      await pendingQuery(knex, m, {}).select(m.key).limit(0)
    } catch (err) {
      throw usage('E_MIGRATION_INVALID', `${m.file}: field "pending" produced invalid SQL: ${firstLine(err)}`)
    }
  }
}

const firstLine = (err: unknown): string => (err instanceof Error ? err.message : String(err)).split('\n')[0]!
