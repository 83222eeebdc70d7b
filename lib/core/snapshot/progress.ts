import type { Knex } from 'knex'
import { isoOrNull as iso } from '../../store/db.ts'
import type { Run } from '../../store/runs.ts'
import type { SnapshotStep } from '../../store/snapshots.ts'
import type { Store } from '../../store/store.ts'
import { SNAPSHOT_STEPS, shadowRunName, stoppedAt } from './names.ts'

/** A snapshot run as `status` shows it (RunProgress.snapshot). */
export interface SnapshotProgress {
  step: SnapshotStep
  /** 1-based position of `step` among SNAPSHOT_STEPS (null after the end: reverted, cleaned). */
  stepNumber: number | null
  steps: readonly SnapshotStep[]
  table: string
  shadow: string
  /** The old table, kept for `evolve revert` until `evolve cleanup`. */
  backup: string
  copied: number
  total: number | null
  /**
   * The copy's evolve (run `<name>.shadow`): rows it evolved, its failed objects, and its total
   * (the rows pending in the copy when it started, or `done + failed` once it is done).
   */
  evolved: { done: number; failed: number; total?: number | null } | null
  /** The read-only window: since when, until when (null while still on), and how long so far. */
  readOnly: { since: string; until: string | null; ms: number } | null
  swappedAt: string | null
  error: string | null
}

async function copyCounts(store: Store, knex: Knex, inner: Run): Promise<NonNullable<SnapshotProgress['evolved']>> {
  const done = (await store.batches.totals(knex, inner.name)).rowsDone
  const failed = await store.failures.count(knex, inner.name)
  // As RunProgress.total counts it (lib/core/progress.ts): a done copy handled every row it had.
  const total = inner.state === 'done' ? done + failed : inner.totalEstimate === null ? null : Math.max(inner.totalEstimate, done)
  return { done, failed, total }
}

export async function snapshotProgress(store: Store, knex: Knex, name: string): Promise<SnapshotProgress | undefined> {
  // Tracking tables from before snapshot mode have no snapshots table: then no run used it.
  const snap = await store.snapshots.get(knex, name).catch(() => undefined)
  if (!snap) return undefined
  const inner = await store.runs.get(knex, shadowRunName(name))
  const evolved = inner ? await copyCounts(store, knex, inner) : null
  const now = snap.readOnlyAt !== null && snap.readWriteAt === null ? await store.now(knex) : null
  // Unwound before the swap: back at preflight, but where it stopped is what the operator needs.
  const step = (snap.step === 'preflight' ? stoppedAt(snap.error) : undefined) ?? snap.step
  const position = SNAPSHOT_STEPS.indexOf(step)
  return {
    step,
    stepNumber: position < 0 ? null : position + 1,
    steps: SNAPSHOT_STEPS,
    table: snap.table,
    shadow: snap.shadow,
    backup: snap.backup,
    copied: snap.copied,
    total: snap.total,
    evolved,
    readOnly:
      snap.readOnlyAt === null
        ? null
        : {
            since: iso(snap.readOnlyAt)!,
            until: iso(snap.readWriteAt),
            ms: (snap.readWriteAt ?? now ?? snap.readOnlyAt) - snap.readOnlyAt,
          },
    swappedAt: iso(snap.swappedAt),
    error: snap.error,
  }
}
