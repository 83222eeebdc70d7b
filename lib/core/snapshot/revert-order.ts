import type { Knex } from 'knex'
import { usage } from '../../errors.ts'
import type { SnapshotRow, SnapshotStep } from '../../store/snapshots.ts'
import type { Store } from '../../store/store.ts'
import { SNAPSHOT_STEPS } from './names.ts'

/*
 * A table swapped by several snapshot runs holds the latest one's result, built on the one before
 * it. Reverting an older one would put back the table from before that one, undoing every later
 * one too while they still say done (and keep backups a later revert would swap in, stale). So
 * only the latest swap of a table is reverted: the others wait their turn, newest first. A run
 * still making its copy counts as later: its swap would put its copy back over the revert. Not one
 * that failed at its read-only step: it copied nothing yet, and resumed it copies the table as it
 * is then (its read-only step waits for the revert's lock on the table).
 */

const at = (step: SnapshotStep) => SNAPSHOT_STEPS.indexOf(step)
/** Swapped in (the step `cleaned` too: its backup is gone, but its result is in the table). */
const swapped = (step: SnapshotStep) => step === 'cleaned' || at(step) >= at('validate')
/** Read-only on, copying or on the way to its swap; `preflight` is a run not begun or unwound. */
const underway = (step: SnapshotStep) => at(step) >= at('read-only') && at(step) <= at('swap')
/** True when `a` swapped the table after `b`. */
const after = (a: SnapshotRow, b: SnapshotRow) => (a.swappedAt ?? 0) > (b.swappedAt ?? 0) || (a.swappedAt === b.swappedAt && a.id > b.id)

/** Refuses (with or without --force: it is not about lost writes) to revert `snap` unless its swap is the table's latest. */
export async function assertLatestSwap(store: Store, db: Knex, snap: SnapshotRow): Promise<void> {
  const others = (await store.snapshots.forTable(db, snap.table)).filter((o) => o.id !== snap.id)
  const name = snap.runName
  for (const busy of others.filter((o) => underway(o.step))) {
    const state = (await store.runs.get(db, busy.runName))?.state
    if (state === 'failed' && busy.step === 'read-only') continue
    // A failed run cannot be cancelled (run-state.ts): only resuming it moves it on.
    const remedy =
      state === 'failed'
        ? `it failed there: once mended, \`evolve run ${busy.runName}\` finishes it; then revert it first`
        : `let it finish, then revert it first, or \`evolve cancel ${busy.runName}\``
    throw usage(
      'E_SNAPSHOT_NOT_LATEST',
      `cannot revert "${name}": "${busy.runName}" is making a copy of ${snap.table} (step ${busy.step}) and its swap would put the copy back over the revert; ${remedy}`,
    )
  }
  const later = others.filter((o) => swapped(o.step) && after(o, snap)).sort((a, b) => (after(a, b) ? -1 : 1))
  if (later.length === 0) return
  const names = later.map((o) => `"${o.runName}"`).join(', ')
  const swappedAfter = `${names} swapped ${snap.table} after it, and reverting it would undo ${later.length === 1 ? 'that one' : 'those'} too`
  const gone = later.find((o) => o.step === 'cleaned')
  if (gone)
    throw usage(
      'E_SNAPSHOT_NOT_LATEST',
      `cannot revert "${name}": ${swappedAfter}; "${gone.runName}" can no longer be reverted (\`evolve cleanup\` dropped its backup), so neither can "${name}"`,
    )
  const order = [...later, snap].map((o) => `\`evolve revert ${o.runName}\``)
  throw usage(
    'E_SNAPSHOT_NOT_LATEST',
    `cannot revert "${name}": ${swappedAfter}; revert the latest first: ${order.slice(0, -1).join(', ')}, then ${order.at(-1)}`,
  )
}

/**
 * The swap of the table before `snap`'s, still revertable: once `snap` is reverted its result is the
 * table again, so the writes to it count again towards its own revert (SQLite's counter triggers,
 * which `snap`'s swap took off that table).
 */
export async function previousSwap(store: Store, db: Knex, snap: SnapshotRow): Promise<SnapshotRow | undefined> {
  const earlier = (await store.snapshots.forTable(db, snap.table)).filter((o) => o.id !== snap.id && swapped(o.step) && after(snap, o))
  const latest = earlier.sort((a, b) => (after(a, b) ? -1 : 1))[0]
  return latest?.step === 'done' ? latest : undefined
}
