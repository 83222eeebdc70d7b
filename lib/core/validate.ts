import type { Knex } from 'knex'
import pRetry from 'p-retry'
import type { ColumnFacts, Dialect } from '../dialects/dialect.ts'
import { EvolveConnectionError, usage } from '../errors.ts'
import type { Migration } from './migration.ts'
import { storeFor } from '../store/store.ts'
import { batchQuery, boundaryQuery, lastKeyQuery, pendingQuery } from './planner.ts'
import { keyColumns, keyName, keyOf } from './keys.ts'
import { decodeKey, encodeKey } from '../store/db.ts'
import { writeBypassFor } from './read-only.ts'
import { explainFault } from './database-fault.ts'

/** How long the check of a `set` expression tries again through lock timeouts before it gives up. */
const CHECK_PATIENCE_MS = 10_000

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
  // A policy hiding rows from this role would leave them unevolved while the run reports done,
  // and a snapshot's copy would lack them: the swap would drop them from the table.
  const role = await dialect.rowSecurityRole?.(knex, m.table)
  if (role) {
    throw usage(
      'E_MIGRATION_INVALID',
      `${m.file}: row-level security of "${m.table}" hides rows from role "${role}" (field "table"): the run would evolve only the rows its policies show; run as a role with BYPASSRLS (or a superuser), or as the table's owner without FORCE ROW LEVEL SECURITY`,
    )
  }
  const columns = facts.map((c) => c.name)
  const keys = keyColumns(m)
  const missing = keys.find((name) => !columns.includes(name))
  if (missing) {
    throw usage(
      'E_MIGRATION_INVALID',
      `${m.file}: key column "${missing}" does not exist in "${m.table}" (field "key"; columns: ${columns.join(', ')})`,
    )
  }
  if (!(await dialect.isUniqueColumn(knex, m.table, m.key))) {
    throw usage(
      'E_MIGRATION_INVALID',
      `${m.file}: ${keyLabel(m)} of "${m.table}" is not unique (field "key"): ${partitionAdvice(m, facts) ?? 'use the primary key or columns with a unique index'}`,
    )
  }
  for (const name of keys) {
    const key = facts.find((c) => c.name === name)!
    // Batches are key ranges (lo, hi]: a NULL key is in none of them.
    if (key.nullable) {
      throw usage(
        'E_MIGRATION_INVALID',
        `${m.file}: key column "${name}" of "${m.table}" allows NULL (field "key"): rows with a NULL key would never be evolved; use the primary key or a NOT NULL unique column, or declare "${name}" NOT NULL`,
      )
    }
    // Range bounds are stored as JSON: a date/time comes back as another value (a Date as UTC
    // text, shifted by the process's offset against a zone-less column), so ranges would drift.
    if (key.temporal) {
      throw usage(
        'E_MIGRATION_INVALID',
        `${m.file}: key column "${name}" of "${m.table}" has the date/time type ${key.type} (field "key"): batch bounds of such a key do not survive being stored; ${partitionAdvice(m, facts) ?? 'use the primary key if it has no date/time part, or a NOT NULL number, text, uuid or bytes column with a unique index of its own'}`,
      )
    }
  }
  for (const column of m.columns ?? []) {
    if (!columns.includes(column)) {
      throw usage(
        'E_MIGRATION_INVALID',
        `${m.file}: column "${column}" does not exist in "${m.table}" (field "columns"; columns: ${columns.join(', ')})`,
      )
    }
  }
  await checkKeyOrder(knex, dialect, m)
  for (const column of Object.keys(m.set ?? {})) {
    if (!columns.includes(column)) {
      throw usage('E_MIGRATION_INVALID', `${m.file}: column "${column}" does not exist in "${m.table}" (field "set")`)
    }
    if (facts.find((c) => c.name === column)!.generated) {
      throw usage(
        'E_MIGRATION_INVALID',
        `${m.file}: field "set.${column}" sets the generated column "${column}" of "${m.table}": the database computes it; set the columns it is computed from instead`,
      )
    }
    // Batches walk the table in key order: a row whose key moved ahead of the scan would be met,
    // and changed, again and again (a key shifted up never stops).
    if (keys.includes(column)) {
      throw usage(
        'E_MIGRATION_INVALID',
        `${m.file}: field "set.${column}" changes the key column "${column}": batches walk the table in key order and would meet the moved rows again; leave the key as it is (re-key with a new column, then switch the key)`,
      )
    }
  }
  // A run resumed while read-only is on for its table (its own snapshot or readonly mode): the
  // guard refuses even an UPDATE matching no row (PostgreSQL's trigger is per statement), so the
  // check passes the guard as the batches do. Read before the transaction (SQLite: see withWriteBypass).
  const bypass = m.set ? await writeBypassFor(storeFor(knex), knex) : undefined
  for (const [column, expression] of Object.entries(m.set ?? {})) {
    // Otherwise a typo, or a value of the wrong type, would fail every batch, and splitting the
    // failed batches would record healthy rows as failed. Compiled as the batches' UPDATE is (so
    // DEFAULT works and PostgreSQL checks the column's type), matching no row, rolled back.
    const check = () =>
      knex
        .transaction(async (trx) => {
          await dialect.beginBatch(trx, m)
          const update = () =>
            trx(m.table)
              .whereRaw('1 = 0')
              .update({ [column]: expression(knex) })
          await (bypass ? bypass(trx, update) : update())
          throw ROLLBACK
        })
        .catch((err: unknown) => err)
    // A lock or busy timeout (the app's CREATE INDEX, a long write on SQLite) says nothing about the
    // expression: tried again as a batch would be, for a while.
    const started = performance.now()
    const error = await pRetry(
      async () => {
        const outcome = await check()
        if (dialect.classifyError(outcome) !== null) throw outcome
        return outcome
      },
      // For a while only: `plan` and every migration's start wait here, and a lock held for good needs a person.
      { retries: m.maxAttempts - 1, minTimeout: 50, maxTimeout: 1000, factor: 2, randomize: true, maxRetryTime: CHECK_PATIENCE_MS },
    ).catch((err: unknown) => {
      const waited = `${Math.round((performance.now() - started) / 1000)} s`
      const reason = dialect.classifyError(err)
      const why =
        reason === 'lock_timeout' || reason === 'busy'
          ? `${m.table} stayed locked for ${waited} (an app's CREATE INDEX, ALTER TABLE or long transaction?); try again once it is free`
          : `it kept failing for ${waited} (${reason ?? 'error'}); try again`
      // A lock or a passing outage: nothing to mend in the file (exit 75, as an unreachable database).
      throw new EvolveConnectionError(`${m.file}: could not check field "set.${column}": ${why} (${firstLine(err)})`, {
        cause: err,
        transient: true,
      })
    })
    if (error === ROLLBACK) continue
    // Out of disk space, a replica, a privilege: the database's or the role's to mend, not the expression.
    const fault = explainFault(dialect, error)
    if (fault !== error) throw fault
    throw usage('E_MIGRATION_INVALID', `${m.file}: field "set.${column}" produced invalid SQL: ${firstLine(error)}`)
  }
  if (m.pending) {
    // Compiling and running the filter once (LIMIT 0) catches a broken `pending` before any batch.
    try {
      await pendingQuery(knex, m, {}).select(keyColumns(m)).limit(0)
    } catch (err) {
      throw usage('E_MIGRATION_INVALID', `${m.file}: field "pending" produced invalid SQL: ${firstLine(err)}`)
    }
  }
}

/**
 * Batches are ranges in the key's order, found by ORDER BY … LIMIT and bounded by `>` / `<=`:
 * a key type without an ordering (json, point…) cannot be cut into ranges. And the bounds are
 * stored as JSON: the first and last keys must come back as the very same value (a SQLite
 * integer beyond 2^53 reaches JavaScript rounded), or a range would miss its edge rows.
 */
async function checkKeyOrder(knex: Knex, dialect: Dialect, m: Migration): Promise<void> {
  let first: Record<string, unknown> | undefined
  let last: Record<string, unknown> | undefined
  try {
    first = await boundaryQuery(knex, m, undefined, 1, false).first()
    last = await lastKeyQuery(knex, m, undefined, false).first()
  } catch (err) {
    // The first read of the table's rows: a role that may not read them is refused here, and
    // that is a grant to make, not a key type to change.
    if (dialect.isMissingPrivilege(err)) {
      // As the other faults a role's grant mends (explainFault): E_CONNECTION, not transient.
      throw new EvolveConnectionError(
        `${m.file}: the role evolvekit runs as lacks SELECT on "${m.table}" (${sqlState(err)}, insufficient privilege, reading ${keyLabel(m)}): grant it SELECT and UPDATE on "${m.table}", which every run needs`,
        { cause: err },
      )
    }
    const fault = explainFault(dialect, err)
    if (fault !== err) throw fault
    throw usage(
      'E_MIGRATION_INVALID',
      `${m.file}: ${keyLabel(m)} of "${m.table}" cannot be ordered (field "key": ${firstLine(err)}); use a key with a btree order: a number, text, uuid or bytes column`,
    )
  }
  for (const row of [first, last]) {
    if (!row) continue
    const key = decodeKey(encodeKey(keyOf(m, row)))
    const found = await batchQuery(knex, m, { keys: [key] }, false)
      .count({ n: '*' })
      .first()
    if (Number(found?.n ?? 0) !== 1) {
      throw usage(
        'E_MIGRATION_INVALID',
        `${m.file}: ${keyLabel(m)} of "${m.table}" holds ${encodeKey(keyOf(m, row))}, which does not survive being stored as a batch bound (field "key"): integers beyond 2^53 and other lossy values cannot bound ranges; use another unique NOT NULL key`,
      )
    }
  }
}

/**
 * A missing privilege, told by SQLSTATE through the Dialect's contract: a fault outside a batch
 * that may be one row's inside one (PostgreSQL's 42501, see Dialect.databaseFault) is the one a
 * row-level security policy shares with a missing grant; row-level security was ruled out above.
 */
const sqlState = (err: unknown): string => String((err as { code?: unknown } | null)?.code ?? 'error')

/**
 * For a partitioned table (PostgreSQL), what does work: every unique index of the parent holds
 * its partition key, so a key without it is never unique there, and a date/time partition key
 * (the usual one) cannot be a key part. Each leaf partition is a table of its own, whose unique
 * indexes need not hold it. Undefined for a table that is not partitioned.
 */
function partitionAdvice(m: Migration, facts: ColumnFacts[]): string | undefined {
  const partitionKey = facts.filter((c) => c.partitionKey)
  if (partitionKey.length === 0) return undefined
  const names = partitionKey.map((c) => `"${c.name}"`).join(', ')
  const leaves = `migrate each leaf partition of "${m.table}" as a table of its own: give it a unique index on a NOT NULL number, text, uuid or bytes column (CREATE UNIQUE INDEX ON <partition> (id)) and write one migration per partition with that column as key`
  // A key holding a partition key of no date/time type can be unique on the parent (the primary key).
  if (partitionKey.some((c) => c.temporal))
    return `"${m.table}" is partitioned by ${names}, which every unique key of it must hold; ${leaves}`
  return `"${m.table}" is partitioned by ${names}: use the primary key or columns of a unique index, which hold ${names}; or ${leaves}`
}

/** `key column "id"`, or `key (tenant_id, id)` for a composite key. */
const keyLabel = (m: Migration): string => (typeof m.key === 'string' ? `key column "${m.key}"` : `key ${keyName(m)}`)

const ROLLBACK = Symbol('rollback')

const firstLine = (err: unknown): string => (err instanceof Error ? err.message : String(err)).split('\n')[0]!
