import type { Knex } from 'knex'
import { type SnapshotDdl, quoteTable } from '../../dialects/snapshot-ddl.ts'
import { decodeKey, encodeKey } from '../../store/db.ts'
import type { SnapshotRow } from '../../store/snapshots.ts'
import type { Store } from '../../store/store.ts'
import type { Migration } from '../migration.ts'
import { batchQuery, nextBoundary } from '../planner.ts'
import { holdPoint } from './hold.ts'
import { writeBypass } from './read-only-seam.ts'

/** Rows per copy transaction: large (the table is read-only, nobody waits on the copy), yet a crash loses little. */
export const COPY_CHUNK = 20_000
/** Crash tests make the chunks small, to be killed between two of them. */
const chunkRows = () => Number(process.env.EVOLVE_SNAPSHOT_COPY_CHUNK) || COPY_CHUNK

/**
 * Copies the live table into the shadow in key ranges. Each range commits with the cursor
 * that says it is done, so a copy killed at any point resumes after its last committed range.
 * Returns false when asked to stop part-way.
 */
export async function copyRows(
  knex: Knex,
  store: Store,
  ddl: SnapshotDdl,
  m: Migration,
  snap: SnapshotRow,
  signal: AbortSignal,
): Promise<boolean> {
  await ddl.createShadow(knex, m.table, snap.shadow) // DDL: the read-only guard refuses only writes of rows
  const { columns, overriding } = await ddl.copyColumns(knex, m.table)
  // Every row once: the copy ignores `pending`.
  const all: Migration = { ...m, pending: undefined }
  if (snap.total === null) {
    const total = Number((await knex(m.table).count({ n: '*' }).first())?.n ?? 0)
    await store.snapshots.update(knex, m.name, { total }, 'copy')
    await store.runs.update(knex, m.name, { totalEstimate: total }) // status: done of total, like any run
  }
  let after = snap.cursor === null ? undefined : decodeKey(snap.cursor)
  let copied = snap.copied
  const bypass = await writeBypass(store, knex)
  for (let first = true; ; first = false) {
    if (signal.aborted) return false
    const hi = (await nextBoundary(knex, all, after, chunkRows(), false))?.key
    if (hi === undefined) return true
    const source = batchQuery(knex, all, { lo: after, hi }, false).select(columns).toSQL()
    const list = columns.map((c) => knex.raw('??', [c]).toQuery()).join(', ')
    // The app's writes to other tables still run: a conflict with them is retried like a batch's.
    copied += await retryConflicts(store, signal, () =>
      knex.transaction((trx) =>
        bypass(trx, async () => {
          const result = await trx.raw(`INSERT INTO ${quoteTable(snap.shadow)} (${list}) ${overriding} ${source.sql}`, source.bindings)
          const rows = Number(result?.rowCount ?? result?.changes ?? 0)
          await store.snapshots.update(trx, m.name, { cursor: encodeKey(hi), copied: copied + rows }, 'copy')
          return rows
        }),
      ),
    )
    after = hi
    if (first) await holdPoint('copy')
  }
}

/** Runs `attempt` again, with backoff, while it fails with a conflict the dialect calls retryable. */
async function retryConflicts<T>(store: Store, signal: AbortSignal, attempt: () => Promise<T>): Promise<T> {
  for (let tries = 1; ; tries++) {
    try {
      return await attempt()
    } catch (err) {
      if (store.dialect.classifyError(err) === null || tries >= COPY_ATTEMPTS || signal.aborted) throw err
      await new Promise((resolve) => setTimeout(resolve, Math.min(2000, 20 * 2 ** tries)))
    }
  }
}

const COPY_ATTEMPTS = 20
