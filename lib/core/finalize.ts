import { countFailures, listFailures, recordFailure } from '../store/failures.ts'
import { type Run, updateRun } from '../store/runs.ts'
import { batchTotals } from '../store/batches.ts'
import type { WorkerContext } from './context.ts'
import { countPending, pendingKeys } from './planner.ts'

const STUCK_KEYS_RECORDED = 1000

/**
 * The pass over the table is complete. The run is finished only if nothing is
 * pending any more; otherwise another pass (a sweep) catches rows written in the
 * old shape meanwhile. Returns true when the run reached a final state.
 */
export async function finalize(ctx: WorkerContext, run: Run): Promise<boolean> {
  const m = ctx.migration
  if (m.pending) {
    const failedKeys = (await listFailures(ctx.knex, m.name)).map((f) => f.key)
    const pending = await countPending(ctx.knex, m, failedKeys)
    if (pending > 0 && run.sweepPass < m.sweeps) {
      const moved = await updateRun(
        ctx.knex,
        m.name,
        { phase: 'sweep', sweepPass: run.sweepPass + 1, cursor: null, scanDone: false },
        { phase: run.phase, sweepPass: run.sweepPass, scanDone: true, state: 'running' },
      )
      if (moved) ctx.events.emit('sweep', { run: m.name, pass: run.sweepPass + 1, pending })
      return false
    }
    if (pending > 0) {
      const error = `still matches "pending" after ${m.sweeps} sweeps: the migration does not move it out of the pending set, or the app keeps writing the old shape`
      const candidates = await pendingKeys(ctx.knex, m, {}, STUCK_KEYS_RECORDED + failedKeys.length)
      const stuck = candidates.filter((k) => !failedKeys.includes(k)).slice(0, STUCK_KEYS_RECORDED)
      for (const key of stuck) await recordFailure(ctx.knex, m.name, key, error, m.sweeps + 1)
    }
  }
  const failed = await countFailures(ctx.knex, m.name)
  const state = failed > 0 ? 'failed' : 'done'
  const lastError = failed > 0 ? `${failed} objects failed: see \`evolve failures ${m.name}\`, fix the cause, then \`evolve retry ${m.name}\`` : null
  const expected = { state: 'running', scanDone: true, phase: run.phase, sweepPass: run.sweepPass } as const
  const ended = await updateRun(ctx.knex, m.name, { state, lastError, finishedAt: Date.now() }, expected)
  if (ended) {
    const totals = await batchTotals(ctx.knex, m.name)
    ctx.events.emit('run:end', { run: m.name, state, done: totals.rowsDone, failed, error: lastError })
  }
  return true
}
