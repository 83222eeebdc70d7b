import type { Knex } from 'knex'

export async function postgresIsUniqueColumn(knex: Knex, table: string, column: string): Promise<boolean> {
  const { rows } = await knex.raw(
    `SELECT 1 FROM pg_index i
       JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
      WHERE i.indrelid = to_regclass(?) AND i.indisunique AND i.indnkeyatts = 1
        AND i.indpred IS NULL AND a.attname = ?
      LIMIT 1`,
    [quoteQualified(table), column],
  )
  return rows.length > 0
}

function quoteQualified(table: string): string {
  return table
    .split('.')
    .map((part) => `"${part.replaceAll('"', '""')}"`)
    .join('.')
}

/** EXPLAIN's estimate: instant on any table size, unlike count(*). */
export async function postgresEstimateRows(knex: Knex, query: Knex.QueryBuilder): Promise<number | null> {
  const { rows } = await knex.raw(`EXPLAIN (FORMAT JSON) ${query.toString()}`)
  const plan = rows[0]?.['QUERY PLAN']?.[0]?.Plan
  return typeof plan?.['Plan Rows'] === 'number' ? plan['Plan Rows'] : null
}
