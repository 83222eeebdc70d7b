import type { Knex } from 'knex'
import type { Dialect } from '../../dialects/dialect.ts'
import { TABLES } from '../../store/schema.ts'
import type { SnapshotRow, SnapshotStep } from '../../store/snapshots.ts'
import type { Store } from '../../store/store.ts'
import { usage } from '../../errors.ts'
import type { EvolveEmitter } from '../events.ts'
import type { Migration } from '../migration.ts'
import { type RunProgress, getProgress } from '../progress.ts'
import { changeRunState } from '../run-state.ts'
import { copyRows } from './copy.ts'
import { holdPoint } from './hold.ts'
import { indexSuffixes, shadowRunName, snapshotNames } from './names.ts'
import { assertCarriable, snapshotDdl } from './preflight.ts'
import { turnReadOnlyOff, turnReadOnlyOn } from './read-only-seam.ts'
import { swapWithRetry } from './swap.ts'
import { SnapshotAbort, verifyShadow } from './verify.ts'

export interface SnapshotContext {
  knex: Knex
  store: Store
  dialect: Dialect
  events: EvolveEmitter
  by: string
  signal: AbortSignal
  /** Evolves the copy with the Runner's worker loop (large batches, no throttle); its final progress. */
  evolve(inner: Migration): Promise<RunProgress>
}

type Outcome = SnapshotStep | 'stop' | 'end'

/** Who holds the read-only switch: the same in every process that resumes the run, so the last one can turn it off. */
const readOnlyActor = (m: Migration) => `snapshot ${m.name}`

/**
 * Snapshot-and-swap of one migration: preflight, read-only on, copy, build indexes, evolve
 * the copy, verify, swap, validate, read-only off. Each step is recorded before the next
 * begins, so a run killed anywhere resumes at its step; before the swap the live table is
 * never written, after it the old table is kept as the backup.
 */
export async function runSnapshot(ctx: SnapshotContext, m: Migration): Promise<RunProgress> {
  const { knex, store } = ctx
  let run = await store.runs.get(knex, m.name)
  if (run?.state === 'done') {
    ctx.events.emit('run:skip', { run: m.name, state: run.state, reason: 'already done' })
    return getProgress(store, knex, m.name)
  }
  let snap = await store.snapshots.get(knex, m.name)
  if (snap?.step === 'reverted' || snap?.step === 'cleaned')
    throw usage(
      'E_SNAPSHOT_REVERTED',
      `${m.name} was reverted: \`evolve cleanup ${m.name}\` drops the evolved copy it kept, then \`evolve run ${m.name}\` starts over`,
    )
  // Refused before anything changes (only the tracking tables exist by now).
  if (!snap || snap.step === 'preflight') await assertCarriable(knex, ctx.dialect, m)
  run ??= await store.runs.ensure(knex, {
    name: m.name,
    description: m.description ?? undefined,
    batchSize: m.batchSize,
    totalEstimate: null,
  })
  if (run.state !== 'running') {
    const reason = run.startedAt === null ? 'start' : 'resume'
    await changeRunState(store, ctx.events, knex, run, {
      to: 'running',
      by: ctx.by,
      reason,
      patch: { startedAt: run.startedAt ?? 'now', finishedAt: null, lastError: null },
    })
  }
  snap = await store.snapshots.ensure(knex, m.name, m.table, (id) => snapshotNames(m.table, id))
  ctx.events.emit('run:start', { run: m.name, state: 'running', total: snap.total, resumed: snap.step !== 'preflight' })
  try {
    for (;;) {
      if (ctx.signal.aborted) break
      // `evolve cancel <name>` stops the run at the next step; `evolve run` resumes it there.
      if ((await store.runs.get(knex, m.name))?.state === 'cancelled') break
      snap = (await store.snapshots.get(knex, m.name))!
      ctx.events.emit('snapshot:step', { run: m.name, step: snap.step, table: m.table })
      const next = await doStep(ctx, m, snap)
      if (next === 'stop' || next === 'end') break
      await store.snapshots.update(knex, m.name, { step: next }, snap.step)
    }
  } catch (err) {
    if (!(err instanceof SnapshotAbort)) throw err
    await abort(ctx, m, snap, err.message)
  }
  return getProgress(store, knex, m.name)
}

async function doStep(ctx: SnapshotContext, m: Migration, snap: SnapshotRow): Promise<Outcome> {
  const { knex, store } = ctx
  const ddl = snapshotDdl(ctx.dialect)
  const readOnly = { tables: [m.table], by: readOnlyActor(m), message: `${m.table} is being evolved (${m.name}); writes resume shortly` }
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
    case 'read-only':
      await turnReadOnlyOn(store, knex, readOnly)
      if (snap.readOnlyAt === null) await store.snapshots.update(knex, m.name, { readOnlyAt: 'now' }, 'read-only')
      return 'copy'
    case 'copy':
      return (await copyRows(knex, store, ddl, m, snap, ctx.signal)) ? 'build' : 'stop'
    case 'build':
      await ddl.buildShadow(knex, m.table, snap.shadow, indexSuffixes(snap.id).incoming)
      return 'evolve'
    case 'evolve':
      return evolveCopy(ctx, m, snap)
    case 'verify':
      await verifyShadow(knex, store, m, snap)
      return 'swap'
    case 'swap':
      await holdPoint('swap')
      await swapWithRetry(knex, ctx.dialect, swapSpec(snap, m.table), async (trx, marker) => {
        if (!(await store.snapshots.update(trx, m.name, { step: 'validate', swappedAt: 'now', swapMarker: marker }, 'swap')))
          throw new Error(`${m.name}: another process moved the snapshot on during the swap`)
      })
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
  if (result.state === 'failed') throw new SnapshotAbort(`the copy's evolve failed: ${result.lastError ?? 'see its run'}`)
  return 'stop'
}

/**
 * Before the swap something is wrong with the copy: the live table was never touched. Writes
 * are let in again, the copy is dropped, and the run fails with the reason; `evolve run`
 * starts over from a fresh copy.
 */
async function abort(ctx: SnapshotContext, m: Migration, snap: SnapshotRow, reason: string): Promise<void> {
  const { knex, store } = ctx
  await turnReadOnlyOff(store, knex, { tables: [m.table], by: readOnlyActor(m), message: '' })
  await snapshotDdl(ctx.dialect).dropTable(knex, snap.shadow)
  const error = `snapshot stopped before the swap (${m.table} untouched): ${reason}`
  await store.snapshots.update(knex, m.name, { step: 'preflight', error, readWriteAt: 'now' })
  const run = await store.runs.get(knex, m.name)
  if (run?.state === 'running')
    await changeRunState(store, ctx.events, knex, run, {
      to: 'failed',
      by: ctx.by,
      reason: error,
      patch: { lastError: error, finishedAt: 'now' },
    })
}
