import type { Run, RunPatch } from '../store/runs.ts'
import { changeRunState } from './run-state.ts'
import type { WorkerContext } from './context.ts'
import { keyName } from './keys.ts'
import { countNullKeys, countPending } from './planner.ts'
import { afterFailures, snapshotOfShadow } from './snapshot/names.ts'
import { plural } from '../plural.ts'
import { errorMessage } from '../errors.ts'
import type { RetryReason } from '../dialects/dialect.ts'

/**
 * The pass over the table is complete. The run is finished only if nothing is
 * pending any more; otherwise another pass (a sweep) catches rows written in the
 * old shape meanwhile. Returns true when the run reached a final state.
 */
export async function finalize(ctx: WorkerContext, run: Run): Promise<boolean> {
  let found: Checked
  try {
    found = await check(ctx)
  } catch (err) {
    return checkFailed(ctx, run, err)
  }
  checkFailures.delete(ctx)
  const m = ctx.migration
  const { nullKeys } = found
  if (nullKeys > 0) {
    const key = keyName(m)
    const what = `${plural(nullKeys, 'row')} ${nullKeys === 1 ? 'has' : 'have'} a NULL ${key} (written during the run): no batch holds them, so they were not evolved`
    // With `pending` a sweep finds them once they have a key; without, nothing tells them from the rest.
    if (m.pending) {
      const error = `${what}; give them a key (declare ${key} NOT NULL to keep it so), then \`evolve run ${m.name}\` sweeps them`
      return endRun(ctx, run, 'failed', error, { phase: 'sweep', cursor: null, scanDone: false, pendingAtEnd: nullKeys })
    }
    // The scan goes on from where it ended, so a key sorting after the last one is evolved by the rerun.
    const error = `${what}; give them a key (declare ${key} NOT NULL to keep it so): \`evolve run ${m.name}\` evolves those whose key sorts after the last it evolved; any other, evolve yourself (or declare \`pending\`, which the rerun sweeps)`
    return endRun(ctx, run, 'failed', error, { scanDone: false, pendingAtEnd: nullKeys })
  }
  const { pending, failedKeys } = found
  if (pending > 0 && run.sweepPass < m.sweeps) {
    const moved = await ctx.store.runs.update(
      ctx.knex,
      m.name,
      { phase: 'sweep', sweepPass: run.sweepPass + 1, cursor: null, scanDone: false },
      { phase: run.phase, sweepPass: run.sweepPass, scanDone: true, state: 'running' },
    )
    if (moved) ctx.events.emit('sweep', { run: m.name, pass: run.sweepPass + 1, pending })
    return false
  }
  if (pending > 0) return stillWritten(ctx, run, pending, failedKeys)
  const failed = await ctx.store.failures.count(ctx.knex, m.name)
  if (failed === 0) return endRun(ctx, run, 'done', null)
  const what =
    snapshotOfShadow(m.name) === undefined ? `${plural(failed, 'object')} failed` : `${plural(failed, 'object')} of the copy failed`
  return endRun(ctx, run, 'failed', `${what}: see \`evolve failures ${m.name}\`, ${afterFailures(m.name)}`)
}

interface Checked {
  /** Rows no range holds (a NULL key part); 0 where keys cannot take NULL. */
  nullKeys: number
  /** Rows still pending, the failed objects left out; 0 without `pending`. */
  pending: number
  /** How many failed objects were left out. */
  failedKeys: number
}

/**
 * What the end of the pass decides on. The counts may scan the whole table: they run in one
 * snapshot under evolvekit's limits, not the role's (Dialect.readSnapshot), or a statement_timeout
 * meant for the app would cancel the end of every run.
 */
async function check(ctx: WorkerContext): Promise<Checked> {
  const m = ctx.migration
  // Not done while rows sit outside every range: without `pending` they would go unnoticed, with it
  // the sweeps would blame old app instances for rows no batch can reach.
  const nullKeys = ctx.dialect.keysMayTakeNull ? await ctx.dialect.readSnapshot(ctx.knex, (trx) => countNullKeys(trx, m), m) : 0
  if (nullKeys > 0 || !m.pending) return { nullKeys, pending: 0, failedKeys: 0 }
  const failedKeys = (await ctx.store.failures.list(ctx.knex, m.name)).map((f) => f.key)
  // One snapshot: the total and the failed rows subtracted from it must agree.
  const pending = await ctx.dialect.readSnapshot(ctx.knex, (trx) => countPending(trx, m, failedKeys), m)
  return { nullKeys, pending, failedKeys: failedKeys.length }
}

/** Failed checks in a row, per worker: a conflict is tried again (by the worker's loop) up to maxAttempts. */
const checkFailures = new WeakMap<WorkerContext, number>()

/**
 * The checks failed. A conflict (a lock held on the table, a lost connection) is thrown, so the
 * worker backs off and tries again, as it does for any statement between batches. Past
 * maxAttempts, or for any other error, the run ends failed with what failed and how to go on:
 * thrown, it would leave the run `running` with nobody serving it.
 */
async function checkFailed(ctx: WorkerContext, run: Run, err: unknown): Promise<boolean> {
  const m = ctx.migration
  const reason = ctx.dialect.classifyError(err)
  const failures = (checkFailures.get(ctx) ?? 0) + 1
  checkFailures.set(ctx, failures)
  if (reason !== null && failures <= m.maxAttempts) throw err
  checkFailures.delete(ctx)
  const tries = reason === null ? '' : ` (${plural(failures, 'attempt')})`
  const fix = ctx.dialect.databaseFault(err, 'setup') ?? (reason === null ? null : CHECK_FIXES[reason])
  const error = `the check for rows still pending at the end of the pass failed${tries}: ${errorMessage(err)}${fix === null ? '' : `; ${fix}`}; then \`evolve run ${m.name}\` checks again`
  return endRun(ctx, run, 'failed', error)
}

/** What to mend when the checks keep meeting a conflict. */
const CHECK_FIXES: Record<RetryReason, string> = {
  lock_timeout: 'something held a lock on the table all along (a long DDL?): let it finish',
  statement_timeout: "something cancels long statements on this connection (a pooler or proxy?): let evolvekit's counts run",
  deadlock: 'other transactions kept deadlocking with it',
  serialization: 'other transactions kept conflicting with it',
  connection: 'the database could not be reached: check it is up',
  busy: 'another connection kept the database locked',
}

/**
 * Every sweep found new rows in the old shape: something (old app instances in a
 * rolling deploy?) keeps writing it. The run fails for now but stays resumable:
 * `evolve run` later sweeps again and finishes once nothing is pending. `pending` leaves
 * the failed objects out (the sweeps skipped them too): they are named apart, with
 * what lists them, so no one hunts old app instances for rows the migration failed.
 */
function stillWritten(ctx: WorkerContext, run: Run, pending: number, failed: number): Promise<boolean> {
  const m = ctx.migration
  const snapshot = snapshotOfShadow(m.name)
  const alsoFailed =
    failed === 0 ? '' : `; besides, ${plural(failed, 'object')} failed (not counted above): see \`evolve failures ${m.name}\``
  // Nobody writes a snapshot's copy: rows it leaves pending are the migration's doing.
  const error =
    snapshot === undefined
      ? `${plural(pending, 'row')} still pending after ${plural(m.sweeps, 'sweep')}: something keeps writing the old shape (old app instances?); once it stops, \`evolve run ${m.name}\` sweeps again and finishes${alsoFailed}`
      : `${plural(pending, 'row')} of the copy still ${pending === 1 ? 'matches' : 'match'} "pending" after ${plural(m.sweeps, 'sweep')}: fix the migration, then \`evolve run ${snapshot}\` starts over from a fresh copy${alsoFailed}`
  return endRun(ctx, run, 'failed', error, { phase: 'sweep', cursor: null, scanDone: false, pendingAtEnd: pending })
}

/**
 * Moves the run to its final state, unless the run changed meanwhile (another worker
 * ended it or started a sweep, or an operator paused it): then false, and the worker
 * looks at the run again instead of leaving.
 */
async function endRun(
  ctx: WorkerContext,
  run: Run,
  state: 'done' | 'failed',
  error: string | null,
  patch: RunPatch = {},
): Promise<boolean> {
  if (run.state !== 'running') return false
  // run:end is emitted by the state machine, for every way a run ends.
  return changeRunState(ctx.store, ctx.events, ctx.knex, run, {
    to: state,
    by: ctx.by,
    reason: error,
    patch: { lastError: error, finishedAt: 'now', ...patch },
    expected: { scanDone: true, phase: run.phase, sweepPass: run.sweepPass },
  })
}
