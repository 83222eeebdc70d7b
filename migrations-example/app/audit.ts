import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'
import type { BatchContext } from 'evolvekit'
import type { Knex } from 'knex'

/**
 * Records, inside the batch's transaction, which rows an `up` migration evolved and in which
 * batch. It commits with the batch or rolls back with it, so a row listed twice was really
 * evolved twice, and a batch listed at all was committed by somebody.
 */
export async function recordEvolved(ctx: BatchContext, keys: number[]): Promise<void> {
  const batch = ctx.batch.id
  for (let i = 0; i < keys.length; i += 500) {
    await ctx.trx('demo_evolutions').insert(keys.slice(i, i + 500).map((row_key) => ({ migration: ctx.migration, row_key, batch })))
  }
  await holdIfAsked(ctx, keys.length)
}

/** Rows this process evolved per migration so far (batches that rolled back included: a threshold, not a count). */
const evolvedHere = new Map<string, number>()

/**
 * For the demo's kill -9. DEMO_HOLD_FILE names a file holding `<migration> <rows>`: once this
 * runner has evolved that many rows of that migration, the next batch stops here, its rows
 * written through ctx.trx but not committed, and writes `<batch id> <rows>` into the file
 * `<DEMO_HOLD_FILE>.held`. The demo kills the runner when that file appears, so the kill lands
 * inside a batch transaction, not between two batches. A file, not a line on stdout: on a
 * terminal the runner's stdout is its live progress.
 */
async function holdIfAsked(ctx: BatchContext, rows: number): Promise<void> {
  const file = process.env.DEMO_HOLD_FILE
  const before = evolvedHere.get(ctx.migration) ?? 0
  evolvedHere.set(ctx.migration, before + rows)
  if (file === undefined || !existsSync(file)) return
  const [migration, atRows] = readFileSync(file, 'utf8').trim().split(' ')
  if (migration !== ctx.migration || before < Number(atRows)) return
  // Renamed into place: the demo polls for the file and must never read it half-written.
  writeFileSync(`${file}.held.tmp`, `${ctx.batch.id} ${rows}`)
  renameSync(`${file}.held.tmp`, `${file}.held`)
  while (existsSync(file)) await sleep(20)
}

/**
 * For the demo's snapshot step: while the file named by DEMO_SNAPSHOT_HOLD_FILE exists, wait.
 * The demo removes it once the app has met the read-only window a few times, so even a small
 * table's window (over in a blink) is seen by the app. Your own migrations need none of this.
 */
export async function holdWhileAsked(): Promise<void> {
  const file = process.env.DEMO_SNAPSHOT_HOLD_FILE
  while (file !== undefined && existsSync(file)) await sleep(20)
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

/** Whether some runner committed `batch` of `migration` (after a kill: whether it was taken over and finished). */
export async function batchCommitted(knex: Knex, migration: string, batch: number): Promise<boolean> {
  return (await knex('demo_evolutions').where({ migration, batch }).first('id')) !== undefined
}
