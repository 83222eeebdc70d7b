import type { Knex } from 'knex'

/**
 * Records, inside the batch's transaction, which rows an `up` migration evolved. It commits
 * with the batch or rolls back with it, so a row listed twice was really evolved twice.
 */
export async function recordEvolved(trx: Knex.Transaction, migration: string, keys: number[]): Promise<void> {
  for (let i = 0; i < keys.length; i += 500) {
    await trx('demo_evolutions').insert(keys.slice(i, i + 500).map((row_key) => ({ migration, row_key })))
  }
}

/** Rows evolved more than once, per migration (none expected). */
export async function evolvedTwice(knex: Knex): Promise<Record<string, number>> {
  const twice = knex('demo_evolutions').select('migration', 'row_key').groupBy('migration', 'row_key').havingRaw('count(*) > 1').as('t')
  const rows = (await knex.from(twice).select('migration').count({ n: '*' }).groupBy('migration')) as {
    migration: string
    n: number | string
  }[]
  return Object.fromEntries(rows.map((r) => [r.migration, Number(r.n)]))
}

/** Rows recorded as evolved, per migration. */
export async function evolvedRows(knex: Knex): Promise<Record<string, number>> {
  const rows = (await knex('demo_evolutions').select('migration').countDistinct({ n: 'row_key' }).groupBy('migration')) as {
    migration: string
    n: number | string
  }[]
  return Object.fromEntries(rows.map((r) => [r.migration, Number(r.n)]))
}
