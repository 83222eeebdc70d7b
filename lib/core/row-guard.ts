import type { Knex } from 'knex'
import type { AnyRow } from '../api/define-migration.ts'
import type { Dialect } from '../dialects/dialect.ts'
import { keyColumns } from './keys.ts'
import type { Migration } from './migration.ts'

/**
 * A migration that declares `columns` gets rows holding only the key and those columns. Reading
 * any other column of the table would give `undefined`, and a transform would write what it made
 * of it (`row.first + ' ' + row.last` → "undefined undefined"): such a read throws instead, naming
 * the column and the fix, so the row is recorded as a failure and nothing is written for it.
 *
 * The guard is one prototype per run with a throwing getter per undeclared column: the declared
 * columns stay the rows' own properties and are read at full speed.
 */
const guards = new WeakMap<Migration, Promise<object | null>>()

/** Gives `rows` the guard of `m`'s undeclared columns (none: every column was read). */
export async function guardRows(trx: Knex.Transaction, dialect: Dialect, m: Migration, rows: AnyRow[]): Promise<void> {
  if (!m.columns || rows.length === 0) return
  let guard = guards.get(m)
  if (!guard) {
    // Read in the batch's transaction: SQLite's one connection is busy with it.
    guard = dialect.tableColumns(trx, m.table).then((facts) => makeGuard(m, facts?.map((c) => c.name) ?? []))
    guards.set(m, guard)
  }
  const proto = await guard
  if (proto) for (const row of rows) Object.setPrototypeOf(row, proto)
}

function makeGuard(m: Migration, tableColumns: string[]): object | null {
  const declared = m.columns ?? []
  const read = new Set([...keyColumns(m), ...declared])
  const undeclared = tableColumns.filter((c) => !read.has(c))
  if (undeclared.length === 0) return null
  const proto = Object.create(Object.prototype) as object
  for (const column of undeclared) {
    Object.defineProperty(proto, column, {
      get() {
        throw new Error(
          `the migration read column "${column}" of "${m.table}", which is not in its \`columns\` (${declared.join(', ')}): add "${column}" to \`columns\``,
        )
      },
    })
  }
  return proto
}
