import type { Knex } from 'knex'
import { usage } from '../../errors.ts'
import { TABLES } from '../../store/schema.ts'
import type { SnapshotRow } from '../../store/snapshots.ts'
import type { Store } from '../../store/store.ts'
import { indexSuffixes, shadowRunName } from './names.ts'
import { snapshotDdl } from './preflight.ts'
import { assertLatestSwap, previousSwap } from './revert-order.ts'
import { swapWithRetry } from './swap.ts'

export interface RevertResult {
  table: string
  /** The evolved table, kept under this name until `evolve cleanup`. */
  kept: string
  /** What `force` threw away: writes to the evolved table since the swap; null when there were none. */
  lost: string | null
}

async function snapshotOf(store: Store, knex: Knex, name: string): Promise<SnapshotRow> {
  // Revert and cleanup write the tables: an older evolvekit may have made them.
  const snap = (await store.upgradeIfAny(knex)) ? await store.snapshots.get(knex, name) : undefined
  if (!snap)
    throw usage(
      'E_SNAPSHOT_NONE',
      `"${name}" has no snapshot: it was not run in snapshot mode (mode: 'snapshot', or --mode snapshot), or its revert was cleaned up already`,
    )
  return snap
}

/**
 * Swaps the backup back in: the table holds again exactly what it held before the swap; the
 * migration is pending again. Refused when the table was written since the swap, unless
 * `force` (the result says what was lost).
 */
export async function revertSnapshot(store: Store, knex: Knex, name: string, opts: { force?: boolean } = {}): Promise<RevertResult> {
  const snap = await snapshotOf(store, knex, name)
  const ddl = snapshotDdl(store.dialect)
  if (snap.step !== 'done') {
    const why =
      snap.step === 'cleaned'
        ? 'the backup was dropped by `evolve cleanup`'
        : snap.step === 'reverted'
          ? 'it is reverted already'
          : `it is at step "${snap.step}": before the swap ${snap.table} was never changed; \`evolve run ${name}\` finishes it`
    throw usage('E_SNAPSHOT_STEP', `cannot revert "${name}": ${why}`)
  }
  // Only the table's latest swap: an older one would undo the later ones too (revert-order.ts).
  await assertLatestSwap(store, knex, snap)
  const written = await ddl.writtenSince(knex, snap.table, snap.swapMarker ?? '0', snap.total ?? 0)
  if (written && !opts.force)
    throw usage('E_SNAPSHOT_WRITTEN', `reverting ${snap.table} would lose ${written}: \`evolve revert ${name} --force\` reverts anyway`)
  const suffix = indexSuffixes(snap.id)
  const spec = {
    table: snap.table,
    incoming: snap.backup,
    outgoing: snap.shadow,
    incomingSuffix: suffix.outgoing,
    outgoingSuffix: suffix.incoming,
    carry: false,
    counter: counterOf(await previousSwap(store, knex, snap)),
  }
  await swapWithRetry(knex, store.dialect, spec, async (trx) => {
    await assertLatestSwap(store, trx, snap) // again, where no other swap of the table can slip in
    if (!(await store.snapshots.update(trx, name, { step: 'reverted' }, 'done')))
      throw usage('E_SNAPSHOT_STEP', `cannot revert "${name}": another process changed it meanwhile`)
    // The migration is undone: it runs again from scratch if asked.
    await store.snapshots.forgetRun(trx, name)
    await store.snapshots.forgetRun(trx, shadowRunName(name))
  })
  await ddl.afterSwap(knex, snap.table)
  await ddl.dropCounter(knex, snap.shadow, snap.id)
  return { table: snap.table, kept: snap.shadow, lost: written }
}

/** Where the writes to the table a revert brings back are counted, if anywhere (SQLite; PostgreSQL reads row versions). */
const counterOf = (snap: SnapshotRow | undefined) => (snap ? { table: TABLES.snapshots, id: snap.id, column: 'swap_marker' } : undefined)

/** Drops what a snapshot kept: the backup after a swap (no revert after this), or the evolved table after a revert. */
export async function cleanupSnapshot(store: Store, knex: Knex, name: string): Promise<{ dropped: string }> {
  const snap = await snapshotOf(store, knex, name)
  const ddl = snapshotDdl(store.dialect)
  if (snap.step === 'done') {
    await ddl.dropCounter(knex, snap.table, snap.id)
    await ddl.dropTable(knex, snap.backup)
    await store.snapshots.update(knex, name, { step: 'cleaned' }, 'done')
    return { dropped: snap.backup }
  }
  if (snap.step === 'reverted') {
    await ddl.dropTable(knex, snap.shadow)
    await store.snapshots.remove(knex, name)
    return { dropped: snap.shadow }
  }
  const why = snap.step === 'cleaned' ? 'it is cleaned up already' : `it is at step "${snap.step}" (nothing is kept before the swap)`
  throw usage('E_SNAPSHOT_STEP', `nothing to clean up for "${name}": ${why}`)
}
