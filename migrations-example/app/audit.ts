import { existsSync, readFileSync } from 'node:fs'
import type { BatchContext } from 'evolvekit'
import type { Knex } from 'knex'

/**
 * Records, inside the batch's transaction, which rows an `up` migration evolved. It commits
 * with the batch or rolls back with it, so a row listed twice was really evolved twice.
 */
export async function recordEvolved(ctx: BatchContext, keys: number[]): Promise<void> {
  for (let i = 0; i < keys.length; i += 500) {
    await ctx.trx('demo_evolutions').insert(keys.slice(i, i + 500).map((row_key) => ({ migration: ctx.migration, row_key })))
  }
  await holdIfAsked(ctx, keys.length)
}

/** The line a batch prints when it parks with its work written but not committed. */
export const HOLD_LINE = '[demo] holding batch'

/**
 * For the demo's kill -9: while the file named by DEMO_HOLD_FILE exists and names this
 * migration, the batch stops here, its rows written through ctx.trx but not committed,
 * and says so on stdout. The demo kills the runner when it reads that line, so the kill
 * lands inside a batch transaction, not between two batches.
 */
async function holdIfAsked(ctx: BatchContext, rows: number): Promise<void> {
  const file = process.env.DEMO_HOLD_FILE
  const asked = () => file !== undefined && existsSync(file) && readFileSync(file, 'utf8').trim() === ctx.migration
  if (!asked()) return
  process.stdout.write(`${HOLD_LINE} ${ctx.batch.id} of ${ctx.migration} open: ${rows} rows written, not committed\n`)
  while (asked()) await new Promise((resolve) => setTimeout(resolve, 20))
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
