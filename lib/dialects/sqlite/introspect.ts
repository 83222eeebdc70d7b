import type { Knex } from 'knex'
import type { ColumnFacts, KeyColumns } from '../dialect.ts'
import { columnsOf } from '../key-columns.ts'

interface ColumnInfo {
  name: string
  pk: number
}
interface IndexInfo {
  name: string
  unique: number
  partial: number
}
interface TableInfo {
  name: string
  type: string
  notnull: number
  pk: number
  /** table_xinfo: 0 an ordinary column, 1 a virtual table's hidden one, 2 / 3 generated VIRTUAL / STORED. */
  hidden: number
}

export async function sqliteTableColumns(knex: Knex, table: string): Promise<ColumnFacts[] | undefined> {
  // table_xinfo, not table_info: table_info leaves generated columns out, yet `SELECT *` reads them.
  const all: TableInfo[] = await knex.raw('SELECT name, type, "notnull", pk, hidden FROM pragma_table_xinfo(?)', [table])
  const columns = all.filter((c) => c.hidden !== 1)
  // Every SQLite table has a column: none means no such table.
  if (columns.length === 0) return undefined
  // Only an INTEGER PRIMARY KEY is NOT NULL by law; other primary keys accept NULL for
  // backwards compatibility alone. Knex creates such keys, and apps do not store NULL in
  // them: such a key counts as NOT NULL unless a NULL is actually there.
  const pk = columns.filter((c) => c.pk > 0)
  const pkHoldsNull =
    pk.length === 1 && pk[0]!.notnull === 0 && (await knex(table).whereNull(pk[0]!.name).first(knex.raw('1'))) !== undefined
  return columns.map((c) => ({
    name: c.name,
    type: c.type,
    nullable: c.notnull === 0 && !(pk.length === 1 && c.pk > 0 && !pkHoldsNull),
    // The driver returns dates as the text or number stored, which survives being stored
    // as a batch bound unchanged: no date/time type needs refusing here.
    temporal: false,
    generated: c.hidden === 2 || c.hidden === 3,
    partitionKey: false,
  }))
}

/** A unique index (or primary key) on some of the key's columns makes the whole key unique. */
export async function sqliteIsUniqueColumn(knex: Knex, table: string, key: KeyColumns): Promise<boolean> {
  const keys = columnsOf(key)
  const columns: ColumnInfo[] = await knex.raw('SELECT name, pk FROM pragma_table_info(?)', [table])
  const pk = columns.filter((c) => c.pk > 0)
  if (pk.length > 0 && pk.every((c) => keys.includes(c.name))) return true
  const indexes: IndexInfo[] = await knex.raw('SELECT name, "unique", partial FROM pragma_index_list(?)', [table])
  for (const index of indexes.filter((i) => i.unique === 1 && i.partial === 0)) {
    // cid -1 / -2 are rowid and expression parts: such an index says nothing about these columns.
    const parts: { name: string | null }[] = await knex.raw('SELECT name FROM pragma_index_info(?)', [index.name])
    if (parts.length > 0 && parts.every((p) => p.name !== null && keys.includes(p.name))) return true
  }
  return false
}
