import type { Knex } from 'knex'
import { type DependentObject, type Refusal, type SnapshotDdl, type SwapSpec, quoteIdent, withSuffix } from '../snapshot-ddl.ts'

type Db = Knex | Knex.Transaction
interface SchemaRow {
  type: string
  name: string
  tbl_name: string
  sql: string | null
}

const IDENT = String.raw`(?:"(?:[^"]|"")+"|\x60[^\x60]+\x60|\[[^\]]+\]|[\w$]+)`
const CREATE_TABLE = new RegExp(String.raw`^(\s*CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?)${IDENT}`, 'i')
const CREATE_INDEX = new RegExp(String.raw`^(\s*CREATE\s+(?:UNIQUE\s+)?INDEX\s+(?:IF\s+NOT\s+EXISTS\s+)?)${IDENT}(\s+ON\s+)${IDENT}`, 'i')

const objectsOf = (db: Db, type: string, table: string): Promise<SchemaRow[]> =>
  db.raw('SELECT type, name, tbl_name, sql FROM sqlite_master WHERE type = ? AND tbl_name = ? AND sql IS NOT NULL ORDER BY name', [
    type,
    table,
  ])

/** Triggers this mode adds to count writes after a swap; never carried, dropped by cleanup. */
const counterName = (id: number, op: string) => `evolve_written_${id}_${op}`
const isCounter = (name: string) => /^evolve_written_\d+_[iud]$/.test(name)

/** Mentions `name` as a whole word (a view or trigger reading it by name). */
function mentions(sql: string, name: string): boolean {
  const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
  return new RegExp(String.raw`(^|[^\w$])["\x60\[]?${escaped}["\x60\]]?($|[^\w$])`, 'i').test(sql)
}

async function preflight(knex: Knex, table: string) {
  const objects: DependentObject[] = []
  const refused: Refusal[] = []
  const [self] = await objectsOf(knex, 'table', table)
  if (self?.sql && /^\s*CREATE\s+VIRTUAL/i.test(self.sql))
    refused.push({ kind: 'virtual table', name: table, fix: 'virtual tables cannot be copied: run this migration in place' })
  for (const ix of await objectsOf(knex, 'index', table))
    objects.push({ kind: 'index', name: ix.name, action: 'built on the copy after the data; created under its own name at the swap' })
  for (const t of await objectsOf(knex, 'trigger', table))
    if (!isCounter(t.name))
      objects.push({
        kind: 'trigger',
        name: t.name,
        action: 'created on the new table in the swap (it does not fire while the copy is evolved)',
      })
  const others: SchemaRow[] = await knex.raw(
    "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE tbl_name <> ? AND sql IS NOT NULL AND type IN ('view', 'trigger', 'table')",
    [table],
  )
  for (const o of others) {
    if (!o.sql || !mentions(o.sql, table) || o.name.startsWith('sqlite_') || isCounter(o.name)) continue
    const kind = o.type === 'table' ? 'foreign key in' : o.type
    objects.push({
      kind,
      name: o.name,
      action: 'names the table: it follows the swap (renames run with legacy_alter_table, so it is never rewritten)',
    })
  }
  for (const fk of (await knex.raw('SELECT DISTINCT "table" AS parent FROM pragma_foreign_key_list(?)', [table])) as { parent: string }[])
    objects.push({ kind: 'foreign key out', name: `to ${fk.parent}`, action: "part of the copy's definition" })
  let extraBytes: number | null = null
  try {
    const [row] = await knex.raw(
      'SELECT SUM(pgsize) AS bytes FROM dbstat WHERE name = ? OR name IN (SELECT name FROM sqlite_master WHERE tbl_name = ?)',
      [table, table],
    )
    extraBytes = Number(row?.bytes ?? 0)
  } catch {
    extraBytes = null // dbstat is not compiled in
  }
  return { objects, refused, extraBytes }
}

async function createShadow(knex: Knex, table: string, shadow: string): Promise<void> {
  if ((await objectsOf(knex, 'table', shadow)).length > 0) return
  const [def] = await objectsOf(knex, 'table', table)
  await knex.raw(def!.sql!.replace(CREATE_TABLE, `$1${quoteIdent(shadow)}`))
}

async function copyColumns(knex: Knex, table: string) {
  const cols: { name: string; hidden: number }[] = await knex.raw('SELECT name, hidden FROM pragma_table_xinfo(?)', [table])
  return { columns: cols.filter((c) => c.hidden === 0).map((c) => c.name), overriding: '' }
}

/** Index names are unique per database and SQLite cannot rename one: the copy's carry `suffix` until the swap. */
async function buildShadow(knex: Knex, table: string, shadow: string, suffix: string): Promise<void> {
  const have = new Set((await objectsOf(knex, 'index', shadow)).map((i) => i.name))
  for (const ix of await objectsOf(knex, 'index', table)) {
    const name = withSuffix(ix.name, suffix)
    if (!have.has(name)) await knex.raw(ix.sql!.replace(CREATE_INDEX, `$1${quoteIdent(name)}$2${quoteIdent(shadow)}`))
  }
}

/**
 * The swap in one write transaction. legacy_alter_table keeps SQLite (≥ 3.26) from rewriting
 * other tables' foreign keys, views and triggers to follow the renamed table: they keep naming
 * `table`, which is the incoming table once the renames commit. foreign_keys is off meanwhile
 * (it cannot change inside a transaction) and checked before commit instead. Indexes and
 * triggers cannot be renamed: the outgoing table's are dropped and created again, under their
 * own names, on the incoming table. WAL readers keep reading the committed tables throughout.
 */
async function swap(knex: Knex, spec: SwapSpec, inside: (trx: Knex.Transaction, marker: string) => Promise<void>): Promise<void> {
  const [fk] = (await knex.raw('PRAGMA foreign_keys')) as { foreign_keys: number }[]
  await knex.raw('PRAGMA foreign_keys = OFF')
  await knex.raw('PRAGMA legacy_alter_table = ON')
  try {
    await knex.transaction(async (trx) => {
      await trx.raw(`PRAGMA busy_timeout = ${Math.max(1, Math.round(spec.lockTimeoutMs))}`)
      const indexes = await objectsOf(trx, 'index', spec.table)
      const triggers = await objectsOf(trx, 'trigger', spec.table)
      for (const t of triggers) await trx.raw(`DROP TRIGGER ${quoteIdent(t.name)}`)
      for (const ix of indexes) await trx.raw(`DROP INDEX ${quoteIdent(ix.name)}`)
      await trx.raw(`ALTER TABLE ${quoteIdent(spec.table)} RENAME TO ${quoteIdent(spec.outgoing)}`)
      await trx.raw(`ALTER TABLE ${quoteIdent(spec.incoming)} RENAME TO ${quoteIdent(spec.table)}`)
      for (const ix of await objectsOf(trx, 'index', spec.table)) await trx.raw(`DROP INDEX ${quoteIdent(ix.name)}`)
      for (const ix of indexes) await trx.raw(ix.sql!)
      for (const t of triggers) if (!isCounter(t.name)) await trx.raw(t.sql!)
      await carrySequence(trx, spec)
      if (spec.counter) await addCounter(trx, spec.table, spec.counter)
      const broken: unknown[] = await trx.raw('PRAGMA foreign_key_check')
      if (broken.length > 0)
        throw new Error(`the swap would break ${broken.length} foreign key references: ${JSON.stringify(broken.slice(0, 3))}`)
      await inside(trx, '0')
    })
  } finally {
    await knex.raw('PRAGMA legacy_alter_table = OFF')
    await knex.raw(`PRAGMA foreign_keys = ${fk?.foreign_keys ? 'ON' : 'OFF'}`)
  }
}

/**
 * AUTOINCREMENT never hands a key out twice, even after the row with it was deleted: its
 * counter (sqlite_sequence, renamed along with each table) must stay past the outgoing table's.
 * The value moves from row to row inside SQLite: a JavaScript number bound as a parameter
 * arrives as a REAL (30000.0), and sqlite_sequence's untyped column would keep it so.
 */
async function carrySequence(trx: Knex.Transaction, spec: SwapSpec): Promise<void> {
  if ((await objectsOf(trx, 'table', 'sqlite_sequence')).length === 0) return
  const outgoing = 'SELECT seq FROM sqlite_sequence WHERE name = ?'
  const [old] = (await trx.raw(outgoing, [spec.outgoing])) as { seq: number }[]
  if (!old) return
  const updated = (await trx.raw(`UPDATE sqlite_sequence SET seq = max(seq, (${outgoing})) WHERE name = ?`, [
    spec.outgoing,
    spec.table,
  ])) as { changes?: number }
  if (!updated?.changes && /\bAUTOINCREMENT\b/i.test((await objectsOf(trx, 'table', spec.table))[0]?.sql ?? ''))
    await trx.raw(`INSERT INTO sqlite_sequence (name, seq) SELECT ?, seq FROM sqlite_sequence WHERE name = ?`, [spec.table, spec.outgoing])
}

/** SQLite keeps no row versions: triggers count the writes since the swap, for revert to see. */
async function addCounter(trx: Knex.Transaction, table: string, c: NonNullable<SwapSpec['counter']>): Promise<void> {
  const bump = `UPDATE ${quoteIdent(c.table)} SET ${quoteIdent(c.column)} = COALESCE(CAST(${quoteIdent(c.column)} AS INTEGER), 0) + 1 WHERE id = ${c.id};`
  for (const [op, event] of [
    ['i', 'INSERT'],
    ['u', 'UPDATE'],
    ['d', 'DELETE'],
  ] as const)
    await trx.raw(`CREATE TRIGGER ${quoteIdent(counterName(c.id, op))} AFTER ${event} ON ${quoteIdent(table)} BEGIN ${bump} END`)
}

async function dropCounter(knex: Knex, table: string, id: number): Promise<void> {
  void table
  for (const op of ['i', 'u', 'd']) await knex.raw(`DROP TRIGGER IF EXISTS ${quoteIdent(counterName(id, op))}`)
}

export const sqliteSnapshot: SnapshotDdl = {
  preflight,
  createShadow,
  copyColumns,
  buildShadow,
  swap,
  afterSwap: async () => {},
  async writtenSince(_knex, _table, marker) {
    // Every row write counts, the app's triggers' own writes to the table included.
    const writes = Number(marker)
    if (writes <= 0) return null
    return writes === 1
      ? '1 row write since the swap (an insert, update or delete, by the app or by a trigger)'
      : `${writes} row writes since the swap (inserts, updates and deletes, by the app or by triggers)`
  },
  async dropTable(knex, name) {
    await knex.raw(`DROP TABLE IF EXISTS ${quoteIdent(name)}`)
  },
  dropCounter,
  // Whoever may open the file may change every table in it.
  notOwned: async () => [],
}
