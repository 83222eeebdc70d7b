import type { Knex } from 'knex'
import type { SnapshotRow } from '../../store/snapshots.ts'
import type { Store } from '../../store/store.ts'
import type { Migration } from '../migration.ts'
import { countPending, pendingQuery } from '../planner.ts'
import { shadowRunName } from './names.ts'
import { snapshotDdl } from './preflight.ts'
import { plural } from '../../plural.ts'

/** Rows compared column by column between the live table and the copy. */
export const VERIFY_SAMPLE = 100

/** Thrown when the copy must not be swapped in: the run stops before the live table is touched. */
export class SnapshotAbort extends Error {}

const count = async (knex: Knex, table: string) => Number((await knex(table).count({ n: '*' }).first())?.n ?? 0)

/**
 * Before the swap: the same number of rows, nothing pending or failed in the copy, the
 * migration's own `verify` hook, and a random sample compared key by key on the columns the
 * migration did not change.
 */
export async function verifyShadow(knex: Knex, store: Store, m: Migration, snap: SnapshotRow): Promise<void> {
  // Full scans, under evolvekit's limits rather than the role's (a statement_timeout meant for the app).
  const scan = <T>(fn: (trx: Knex.Transaction) => Promise<T>) => store.dialect.readSnapshot(knex, fn, m)
  const [live, copy] = await scan(async (trx) => [await count(trx, m.table), await count(trx, snap.shadow)])
  if (live !== copy)
    throw new SnapshotAbort(
      `row counts differ: ${live} in ${m.table}, ${copy} in the copy (was the table written during the read-only window?)`,
    )
  const failed = await store.failures.count(knex, shadowRunName(m.name))
  if (failed > 0) throw new SnapshotAbort(`${plural(failed, 'row')} failed in the copy: \`evolve failures ${shadowRunName(m.name)}\``)
  const inner = { ...m, table: snap.shadow }
  if (m.pending) {
    const pending = await scan((trx) => countPending(trx, inner))
    if (pending > 0) throw new SnapshotAbort(`${plural(pending, 'row')} of the copy still ${pending === 1 ? 'matches' : 'match'} "pending"`)
  }
  if (m.verify) {
    let ok: unknown
    try {
      ok = await m.verify(knex, snap.shadow)
    } catch (err) {
      throw new SnapshotAbort(`verify() threw: ${(err as Error).message}`)
    }
    if (ok === false) throw new SnapshotAbort('verify() returned false')
  }
  // Only the columns the copy wrote: generated ones derive from the others, so a migration that
  // changes `n` changes a column generated from `n` too, and the database recomputed it already.
  const { columns } = await snapshotDdl(store.dialect).copyColumns(knex, m.table)
  await compareSample(knex, m, snap.shadow, columns)
}

async function compareSample(knex: Knex, m: Migration, shadow: string, columns: string[]): Promise<void> {
  // A single-column key: assertCarriable refuses composite keys before anything changes.
  const key = m.key as string
  const sample: Record<string, unknown>[] = await knex(m.table).select('*').orderByRaw('random()').limit(VERIFY_SAMPLE)
  if (sample.length === 0) return
  const keys = sample.map((r) => r[key]) as Knex.Value[]
  const copies = new Map<string, Record<string, unknown>>()
  for (const r of (await knex(shadow).select('*').whereIn(key, keys)) as Record<string, unknown>[]) copies.set(norm(r[key]), r)
  // Rows the migration would not touch must come through whole.
  const touched = new Set(
    m.pending ? (await pendingQuery(knex, m, { keys }).select(key)).map((r: Record<string, unknown>) => norm(r[key])) : keys.map(norm),
  )
  for (const row of sample) {
    const shown = norm(row[key])
    const copy = copies.get(shown)
    if (!copy) throw new SnapshotAbort(`row ${key} = ${shown} is missing from the copy`)
    const changed = touched.has(shown) ? await changedColumns(m, row) : new Set<string>()
    if (changed === 'all') continue
    for (const column of columns) {
      if (changed.has(column) || norm(row[column]) === norm(copy[column])) continue
      throw new SnapshotAbort(`row ${key} = ${shown}: column "${column}" differs in the copy although the migration does not change it`)
    }
  }
}

/** The columns the migration may have changed in `row`; 'all' for `up`, which may change anything. */
async function changedColumns(m: Migration, row: Record<string, unknown>): Promise<Set<string> | 'all'> {
  if (m.set) return new Set(Object.keys(m.set))
  if (m.transform) return new Set(Object.keys((await m.transform({ ...row })) ?? {}))
  return 'all'
}

function norm(value: unknown): string {
  if (value instanceof Date) return value.toISOString()
  if (Buffer.isBuffer(value)) return value.toString('hex')
  return typeof value === 'bigint' ? value.toString() : JSON.stringify(value)
}
