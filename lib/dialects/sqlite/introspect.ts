import type { Knex } from 'knex'

interface ColumnInfo { name: string; pk: number }
interface IndexInfo { name: string; unique: number; partial: number }

export async function sqliteIsUniqueColumn(knex: Knex, table: string, column: string): Promise<boolean> {
  const columns: ColumnInfo[] = await knex.raw('SELECT name, pk FROM pragma_table_info(?)', [table])
  const pk = columns.filter((c) => c.pk > 0)
  if (pk.length === 1 && pk[0]!.name === column) return true
  const indexes: IndexInfo[] = await knex.raw('SELECT name, "unique", partial FROM pragma_index_list(?)', [table])
  for (const index of indexes.filter((i) => i.unique === 1 && i.partial === 0)) {
    const parts: { name: string }[] = await knex.raw('SELECT name FROM pragma_index_info(?)', [index.name])
    if (parts.length === 1 && parts[0]!.name === column) return true
  }
  return false
}
