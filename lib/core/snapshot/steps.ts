import { TABLES } from '../../store/schema.ts'
import type { SnapshotRow, SnapshotStep } from '../../store/snapshots.ts'
import { usage } from '../../errors.ts'
import type { Migration } from '../migration.ts'
import type { RunProgress } from '../progress.ts'
import { READ_ONLY_NOTICE } from '../read-only-run.ts'
import { changeRunState } from '../run-state.ts'
import { copyRows } from './copy.ts'
import { holdPoint } from './hold.ts'
import { indexSuffixes, readOnlyActor, shadowRunName } from './names.ts'
import { snapshotDdl } from './preflight.ts'
import { assertHeldSince, turnReadOnlyOff, turnReadOnlyOn } from './read-only-seam.ts'
import type { SnapshotContext } from './context.ts'
import { swapWithRetry } from './swap.ts'
import { SnapshotAbort, verifyShadow } from './verify.ts'
import { plural } from '../../plural.ts'

/*
 * What each step of a snapshot run does, and which step it leads to. Kept apart from the loop
 * in run-snapshot.ts, which records each step, waits out pauses and handles cancels: this file
 * is the work of one step, the loop is when a step may run.
 */

/** The step to record next; 'stop' looks at the run again without moving on, 'end' leaves the loop. */
type Outcome = SnapshotStep | 'stop' | 'end'

export async function doStep(ctx: SnapshotContext, m: Migration, snap: SnapshotRow): Promise<Outcome> {
  const { knex, store } = ctx
  const ddl = snapshotDdl(ctx.dialect)
  const readOnly = { tables: [m.table], by: readOnlyActor(m), message: m.readOnlyMessage ?? READ_ONLY_NOTICE }
  switch (snap.step) {
    case 'preflight':
      // A fresh start, or one after an abort: nothing of an earlier attempt may leak into this one.
      // The backup's name must be free for the swap (a table left by hand, or tracking tables recreated).
      if (await ctx.dialect.tableColumns(knex, snap.backup))
        throw usage(
          'E_SNAPSHOT_NAME_TAKEN',
          `${m.name}: a table named ${snap.backup} exists; the swap would need that name for the backup: drop or rename it`,
        )
      await store.snapshots.forgetRun(knex, shadowRunName(m.name))
      await ddl.dropTable(knex, snap.shadow)
      await store.snapshots.update(
        knex,
        m.name,
        { cursor: null, copied: 0, total: null, readOnlyAt: null, readWriteAt: null, error: null },
        'preflight',
      )
      return 'read-only'
    case 'read-only': {
      await turnReadOnlyOn(store, knex, readOnly)
      // The window is the switch's unbroken period from here on (verify checks it): a resumed step
      // keeps the recorded start while the switch stayed on, but one turned off meanwhile (after a
      // crash, say) began a new period just now, and the window with it.
      const since = store.dialect.readOnlyGuard ? (await store.readOnly.get(knex)).since : null
      if (snap.readOnlyAt === null || (since !== null && since > snap.readOnlyAt))
        await store.snapshots.update(knex, m.name, { readOnlyAt: 'now' }, 'read-only')
      return 'copy'
    }
    case 'copy':
      return (await copyRows(knex, store, ddl, m, snap, ctx.signal)) ? 'build' : 'stop'
    case 'build':
      await ddl.buildShadow(knex, m.table, snap.shadow, indexSuffixes(snap.id).incoming)
      return 'evolve'
    case 'evolve':
      return evolveCopy(ctx, m, snap)
    case 'verify':
      // Said first: writes let in meanwhile would otherwise show only as a row count that differs (or not at all).
      await assertHeldSince(store, knex, m.name, m.table, snap.readOnlyAt)
      await verifyShadow(knex, store, m, snap)
      return 'swap'
    case 'swap':
      await holdPoint('swap')
      try {
        await swapWithRetry(knex, ctx.dialect, swapSpec(snap, m.table), async (trx, marker) => {
          // The swap commits only while the run is running: a cancel or pause that landed since
          // the step began holds it back (the loop then sees it), and one landing later waits for it.
          if (!(await store.runs.update(trx, m.name, {}, { state: 'running' }))) throw new SwapHeldBack()
          // Never over writes the copy lacks: read-only must have stayed on since the copy began.
          await assertHeldSince(store, trx, m.name, m.table, snap.readOnlyAt)
          if (!(await store.snapshots.update(trx, m.name, { step: 'validate', swappedAt: 'now', swapMarker: marker }, 'swap')))
            throw new Error(`${m.name}: another process moved the snapshot on during the swap`)
        })
      } catch (err) {
        if (err instanceof SwapHeldBack) return 'stop'
        throw err
      }
      await holdPoint('swapped')
      return 'validate' // already recorded with the swap itself
    case 'validate':
      await ddl.afterSwap(knex, m.table)
      return 'read-write'
    case 'read-write':
      await turnReadOnlyOff(store, knex, readOnly)
      await store.snapshots.update(knex, m.name, { readWriteAt: 'now' }, 'read-write')
      return 'done'
    case 'done': {
      const run = await store.runs.get(knex, m.name)
      if (run?.state === 'running')
        await changeRunState(store, ctx.events, knex, run, { to: 'done', by: ctx.by, reason: 'swapped', patch: { finishedAt: 'now' } })
      return 'end'
    }
    default:
      return 'end'
  }
}

class SwapHeldBack extends Error {}

/** The forward swap: the copy takes the table's name, the table becomes the backup. */
function swapSpec(snap: SnapshotRow, table: string) {
  const suffix = indexSuffixes(snap.id)
  return {
    table,
    incoming: snap.shadow,
    outgoing: snap.backup,
    incomingSuffix: suffix.incoming,
    outgoingSuffix: suffix.outgoing,
    carry: true,
    counter: { table: TABLES.snapshots, id: snap.id, column: 'swap_marker' },
  }
}

async function evolveCopy(ctx: SnapshotContext, m: Migration, snap: SnapshotRow): Promise<Outcome> {
  // Large batches: nobody else writes the copy, so nobody waits behind them.
  const inner: Migration = {
    ...m,
    name: shadowRunName(m.name),
    table: snap.shadow,
    snapshot: false,
    batchSize: Math.max(m.batchSize, 5000),
  }
  const result = await ctx.evolve(inner)
  if (result.state === 'done') return 'verify'
  if (result.state === 'failed') throw new SnapshotAbort(copyFailed(m, inner.name, result))
  return 'stop'
}

/**
 * Why the copy's evolve failed and what to do, in this run's terms: the copy's run is not
 * retried (the copy is dropped), its failures only show why; the way on is fixing the
 * migration and running it again, which starts over from a fresh copy.
 */
function copyFailed(m: Migration, innerName: string, result: RunProgress): string {
  if (result.failed > 0)
    return `the copy's evolve failed on ${plural(result.failed, 'object')} (\`evolve failures ${innerName}\` lists them): fix the migration, then \`evolve run ${m.name}\` starts over from a fresh copy`
  // Nothing failed by itself (rows left pending): the copy's run says what (finalize.ts, in these terms too).
  return `the copy's evolve failed: ${result.lastError ?? `fix the migration, then \`evolve run ${m.name}\` starts over from a fresh copy`}`
}
