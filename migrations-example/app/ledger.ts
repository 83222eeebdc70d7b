import type { Knex } from 'knex'

/**
 * Every write the app saw accepted (committed): the rows it inserted, and the last value it
 * wrote into each edited field. The demo checks afterwards that every one is in the database.
 */
export interface Ledger {
  inserted: { users: number[]; documents: number[]; comments: number[] }
  /** `table:id:column` → the last value written (edits of one field never overlap). */
  edited: Record<string, string>
}

export const emptyLedger = (): Ledger => ({ inserted: { users: [], documents: [], comments: [] }, edited: {} })

/** Accepted writes that are not in the database: must be none. */
export async function lostWrites(knex: Knex, ledger: Ledger): Promise<string[]> {
  const lost: string[] = []
  for (const [table, ids] of Object.entries(ledger.inserted)) {
    for (let i = 0; i < ids.length; i += 500) {
      const chunk = ids.slice(i, i + 500)
      const found = new Set((await knex(table).whereIn('id', chunk).pluck('id')).map(Number))
      for (const id of chunk) if (!found.has(id)) lost.push(`${table} ${id} (inserted)`)
    }
  }
  for (const [field, value] of Object.entries(ledger.edited)) {
    const [table, id, column] = field.split(':') as [string, string, string]
    const row = await knex(table)
      .where({ id: Number(id) })
      .first(column)
    if (row?.[column] !== value)
      lost.push(`${table} ${id} ${column}: wrote ${JSON.stringify(value)}, found ${JSON.stringify(row?.[column])}`)
  }
  return lost
}
