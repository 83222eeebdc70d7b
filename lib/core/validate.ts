import type { Knex } from 'knex'
import type { Dialect } from '../dialects/dialect.ts'
import { usage } from '../errors.ts'
import type { Migration } from './migration.ts'
import { storeFor } from '../store/store.ts'
import { pendingQuery } from './planner.ts'

/**
 * Checks every migration that still has work to do; throws at the first problem. A done
 * migration is history: the schema may have moved on since (a column it set dropped), and
 * that must not stop the migrations after it.
 */
export async function validateMigrations(knex: Knex, dialect: Dialect, migrations: Migration[]): Promise<void> {
  const store = storeFor(knex)
  const tracked = await store.has(knex)
  for (const m of migrations) {
    if (tracked && (await store.runs.get(knex, m.name))?.state === 'done') continue
    await validateAgainstDatabase(knex, dialect, m)
  }
}

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
    throw usage(
      'E_MIGRATION_INVALID',
      `${m.file}: key column "${m.key}" does not exist in "${m.table}" (field "key"; columns: ${columns.join(', ')})`,
    )
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
    // Otherwise a typo, or a value of the wrong type, would fail every batch, and splitting the
    // failed batches would record healthy rows as failed. Compiled as the batches' UPDATE is (so
    // DEFAULT works and PostgreSQL checks the column's type), matching no row, rolled back.
    const error = await knex
      .transaction(async (trx) => {
        await dialect.beginBatch(trx, m)
        await trx(m.table)
          .whereRaw('1 = 0')
          .update({ [column]: expression(knex) })
        throw ROLLBACK
      })
      .catch((err: unknown) => err)
    if (error === ROLLBACK) continue
    // A lock or busy timeout says nothing about the expression: let it surface as it is.
    if (dialect.classifyError(error) !== null) throw error
    throw usage('E_MIGRATION_INVALID', `${m.file}: field "set.${column}" produced invalid SQL: ${firstLine(error)}`)
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

const ROLLBACK = Symbol('rollback')

const firstLine = (err: unknown): string => (err instanceof Error ? err.message : String(err)).split('\n')[0]!
