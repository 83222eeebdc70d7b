import { EvolveUsageError, errorMessage, usage } from '../../errors.ts'
import { explainFault } from '../database-fault.ts'
import type { Migration } from '../migration.ts'
import { type RunProgress, getProgress } from '../progress.ts'
import { failRunFor } from '../read-only-run.ts'
import { changeRunState } from '../run-state.ts'
import { isSwapped, stateAtStep } from './control.ts'
import { snapshotNames, stoppedPrefix } from './names.ts'
import { definitionOf, encodeDefinition } from '../definition.ts'
import { assertCarriable } from './preflight.ts'
import { claimDriver, releaseDriver } from './driver.ts'
import { doStep } from './steps.ts'
import type { SnapshotRow, SnapshotStep } from '../../store/snapshots.ts'
import { abort } from './unwind.ts'
import { SnapshotAbort } from './verify.ts'
import type { SnapshotContext } from './context.ts'

/**
 * Snapshot-and-swap of one migration: preflight, read-only on, copy, build indexes, evolve
 * the copy, verify, swap, validate, read-only off. Each step is recorded before the next
 * begins, so a run killed anywhere resumes at its step; before the swap the live table is
 * never written, after it the old table is kept as the backup.
 */
export async function runSnapshot(ctx: SnapshotContext, m: Migration): Promise<RunProgress> {
  const { knex, store } = ctx
  const run = await store.runs.get(knex, m.name)
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
  await store.runs.ensure(knex, {
    name: m.name,
    description: m.description ?? undefined,
    batchSize: m.batchSize,
    totalEstimate: null,
    // What the file defines, from the first open on (a run killed on its first start keeps it too).
    definition: encodeDefinition(definitionOf(m)),
  })
  snap = await store.snapshots.ensure(knex, m.name, m.table, (id) => snapshotNames(m.table, id))
  // Before this process changes anything: another live one driving the run refuses this one.
  await claimDriver(knex, store, snap, ctx.workerId)
  try {
    return await driveSnapshot(ctx, m, snap)
  } finally {
    await releaseDriver(knex, ctx.store, snap, ctx.workerId)
  }
}

async function driveSnapshot(ctx: SnapshotContext, m: Migration, snap: SnapshotRow): Promise<RunProgress> {
  const { knex, store } = ctx
  // Read again once driving: a process that drove it until now may have moved it on.
  const run = (await store.runs.get(knex, m.name))!
  if (run.state === 'done') return getProgress(store, knex, m.name)
  // A paused run stays paused (it waits below for `evolve resume`), as an in-place run does.
  if (run.state !== 'running' && run.state !== 'paused') {
    const reason = run.startedAt === null ? 'start' : 'resume'
    await changeRunState(store, ctx.events, knex, run, {
      to: 'running',
      by: ctx.by,
      reason,
      patch: { startedAt: run.startedAt ?? 'now', finishedAt: null, lastError: null },
    })
  }
  ctx.events.emit('run:start', {
    run: m.name,
    state: run.state === 'paused' ? 'paused' : 'running',
    total: snap.total,
    resumed: snap.step !== 'preflight',
  })
  try {
    for (;;) {
      if (ctx.signal.aborted) break
      // An operator's pause waits here, between steps (the copy's run pauses with it: control.ts).
      const state = await stateAtStep(store, knex, m.name, ctx.signal)
      snap = (await store.snapshots.get(knex, m.name))!
      if (state === 'cancelled') {
        // Before the swap a cancel undoes the run, table untouched; after it (a cancel that
        // landed during the swap) the copy is the table already: the short rest is finished.
        if (!isSwapped(snap.step)) {
          await abort(ctx, m, snap, 'cancelled', 'cancelled')
          break
        }
        const current = (await store.runs.get(knex, m.name))!
        const reason = 'the swap committed before the cancel landed: finishing (`evolve revert` swaps back)'
        if (!(await changeRunState(store, ctx.events, knex, current, { to: 'running', by: ctx.by, reason }))) continue
      } else if (state !== 'running') break
      if (ctx.signal.aborted) break
      ctx.events.emit('snapshot:step', { run: m.name, step: snap.step, table: m.table })
      const next = await doStep(ctx, m, snap)
      if (next === 'end') break
      // The copy's run stopped without finishing (a cancel or pause of this run, or Ctrl-C): look again.
      if (next === 'stop') continue
      await store.snapshots.update(knex, m.name, { step: next }, snap.step)
    }
  } catch (err) {
    if (err instanceof SnapshotAbort) await abort(ctx, m, snap, err.message, 'failed')
    else if (!(await unwindFailure(ctx, m, err))) {
      // A step refused for what a person must mend before anything of it changed (at the preflight
      // or read-only step: a privilege, a table in the way): nobody drives the run now; it ends
      // failed, and `evolve run` resumes at that step.
      if (err instanceof EvolveUsageError) await failRunFor(store, ctx.events, knex, m.name, ctx.by, err)
      throw err
    }
  }
  return getProgress(store, knex, m.name)
}

/**
 * Anything else that fails a step from the copy up to the swap (a privilege the build needs, a
 * fault of the database, a bug) unwinds the run as a failed verify does: left as it was, the table
 * would stay read-only with a copy nobody finishes, and the run `running` with no worker. Not when
 * this process was asked to stop (Ctrl-C: `evolve run` resumes at the step), nor once the swap
 * committed. True when it unwound; when the unwinding fails too, the run ends failed saying both.
 */
async function unwindFailure(ctx: SnapshotContext, m: Migration, err: unknown): Promise<boolean> {
  if (ctx.signal.aborted) return false
  const snap = await ctx.store.snapshots.get(ctx.knex, m.name).catch(() => undefined)
  if (!snap || !UNWOUND_AT.has(snap.step)) return false
  const reason = `${errorMessage(explainFault(ctx.dialect, err))}; once mended, \`evolve run ${m.name}\` starts over from a fresh copy`
  try {
    await abort(ctx, m, snap, reason, 'failed')
  } catch (unwinding) {
    const both = `${stoppedPrefix(snap.step)} before the swap: ${reason}; undoing it failed too (${errorMessage(explainFault(ctx.dialect, unwinding))}), so ${m.table} may still be read-only`
    await failRunFor(ctx.store, ctx.events, ctx.knex, m.name, ctx.by, new Error(both)).catch(() => {})
    throw explainFault(ctx.dialect, err)
  }
  return true
}

/** The steps a failure unwinds: read-only is on and the live table untouched. */
const UNWOUND_AT = new Set<SnapshotStep>(['copy', 'build', 'evolve', 'verify', 'swap'])
