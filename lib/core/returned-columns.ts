import type { Knex } from 'knex'
import { isDeepStrictEqual } from 'node:util'
import type { AnyRow } from '../api/define-migration.ts'
import type { RowChange } from '../dialects/dialect.ts'
import { usage } from '../errors.ts'
import type { WorkerContext } from './context.ts'
import { keyColumns, keyOf, whereKeyIn } from './keys.ts'
import type { Migration } from './migration.ts'

/** The table's columns and which of them the database computes (GENERATED ALWAYS AS …). */
interface Known {
  columns: Set<string>
  generated: Set<string>
}

/** Per migration, read once and again only when a transform returns a column not among them. */
const known = new WeakMap<Migration, Known>()

/** Keys per query when the generated columns are read back: far below either database's limit on bound values. */
const KEY_CHUNK = 1000

/**
 * A transform that returns a column the table does not have (a typo: `emial`) is a broken
 * migration, not a poison row: every batch would fail, and splitting them down to single rows
 * would record the whole table as failed objects, each with the write-back's SQL. So it is a
 * usage error (E_MIGRATION_INVALID) that fails the run at once, saying which column.
 *
 * A generated column is never written: the database refuses it ("can only be updated to
 * DEFAULT"), and with it every row of a transform returning the whole row (`{ ...row, email }`).
 * So generated columns are taken out of `changes` here, in place, before the write-back. Returned
 * with another value than the row held, one is a broken migration as a typo is: the run fails,
 * naming the column.
 */
export async function assertReturnedColumns(trx: Knex.Transaction, ctx: WorkerContext, changes: RowChange[]): Promise<void> {
  const m = ctx.migration
  let table = known.get(m)
  // A loop, not flatMap: a batch may hold 100,000 rows, and this runs for every batch.
  const unknown = () => {
    for (const change of changes) for (const column in change.changes) if (!table!.columns.has(column)) return column
    return undefined
  }
  if (!table || unknown() !== undefined) {
    // First batch, or a column added since it was read: read the table's columns again, in the
    // batch's transaction (SQLite's one connection is the transaction's).
    const facts = (await ctx.dialect.tableColumns(trx as unknown as Knex, m.table)) ?? []
    table = { columns: new Set(facts.map((c) => c.name)), generated: new Set(facts.filter((c) => c.generated).map((c) => c.name)) }
    known.set(m, table)
    const column = unknown()
    if (column !== undefined) {
      throw usage(
        'E_MIGRATION_INVALID',
        `transform of ${m.name} returned column "${column}", which "${m.table}" does not have (columns: ${[...table.columns].join(', ')}): fix the migration, then \`evolve run ${m.name}\``,
      )
    }
  }
  if (table.generated.size > 0) await leaveOutGenerated(trx, m, changes, table.generated)
}

/**
 * Takes the generated columns out of `changes` (a change left with none is dropped), once each
 * returned value is found to be the one the row holds. The row is compared as read again in the
 * batch's transaction, through the same driver: it was read under lock, and a generated value
 * depends on the row's own columns only, so it is the value the transform was given.
 */
async function leaveOutGenerated(trx: Knex.Transaction, m: Migration, changes: RowChange[], generated: Set<string>): Promise<void> {
  const returned = new Set<string>()
  const touched = new Set<RowChange>()
  for (const change of changes) {
    let hit = false
    for (const column in change.changes) {
      if (!generated.has(column)) continue
      returned.add(column)
      hit = true
    }
    if (hit) touched.add(change)
  }
  if (touched.size === 0) return
  const columns = [...returned]
  const held = new Map<string, AnyRow>()
  const keys = [...touched].map((c) => c.key)
  for (let i = 0; i < keys.length; i += KEY_CHUNK) {
    const rows: AnyRow[] = await whereKeyIn(trx(m.table).select([...keyColumns(m), ...columns]), m, keys.slice(i, i + KEY_CHUNK))
    for (const row of rows) held.set(keyText(keyOf(m, row)), row)
  }
  for (const change of touched) {
    const row = held.get(keyText(change.key))
    for (const column of columns) {
      if (!(column in change.changes) || row === undefined || sameValue(change.changes[column], row[column])) continue
      throw usage(
        'E_MIGRATION_INVALID',
        `transform of ${m.name} returned ${show(change.changes[column])} for the generated column "${column}" of row ${show(change.key)}, which holds ${show(row[column])}: the database computes "${column}" and it is never written; return it unchanged or leave it out (change the columns it is computed from), then \`evolve run ${m.name}\``,
      )
    }
  }
  // In place: the caller writes `changes` back next.
  let kept = 0
  for (const change of changes) {
    if (touched.has(change)) {
      const rest = { ...change.changes }
      for (const column of columns) delete rest[column]
      if (Object.keys(rest).length === 0) continue
      change.changes = rest
    }
    changes[kept++] = change
  }
  changes.length = kept
}

/** The same value as the database gave it: Dates by their time, bytes by their content, JSON deeply; a number and its text alike. */
function sameValue(returned: unknown, held: unknown): boolean {
  if (isDeepStrictEqual(returned, held)) return true
  const plain = (v: unknown) => typeof v === 'string' || typeof v === 'number' || typeof v === 'bigint'
  return plain(returned) && plain(held) && String(returned) === String(held)
}

/** A key as text, to match rows read back to changes (bigint keys arrive as text, parts may be Dates). */
const keyText = (key: unknown): string => JSON.stringify(key, (_, v: unknown) => (typeof v === 'bigint' ? String(v) : v))

/** A value for a message: short. */
function show(value: unknown): string {
  const text = value instanceof Date ? value.toISOString() : (keyText(value) ?? String(value))
  return text.length > 60 ? `${text.slice(0, 60)}…` : text
}
