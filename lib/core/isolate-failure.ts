import { LostClaimError } from '../errors.ts'
import { type Batch, type BatchBounds, fenceBatch, finishBatch, insertBatch } from '../store/batches.ts'
import { clearFailures, countFailures, recordFailure } from '../store/failures.ts'
import { updateRun } from '../store/runs.ts'
import type { WorkerContext } from './context.ts'
import { pendingKeys } from './planner.ts'

/**
 * A batch failed for good. Split it in two (as new pending batches) until a batch
 * holds one object; that object is recorded as failed and the run goes on. Each
 * step commits with the batch row it retires, so a crash mid-way loses nothing.
 */
export async function isolateFailure(ctx: WorkerContext, batch: Batch, error: string, attempts: number): Promise<void> {
  const m = ctx.migration
  const keys = await pendingKeys(ctx.knex, m, batch)
  try {
    await ctx.knex.transaction(async (trx) => {
      if (!(await fenceBatch(trx, batch.id, ctx.workerId))) throw new LostClaimError(batch.id)
      // Failed objects of a retry batch that need no evolving any more are failures no longer.
      if (batch.phase === 'retry')
        await clearFailures(
          trx,
          m.name,
          (batch.keys ?? []).filter((k) => !keys.includes(k)),
        )
      if (keys.length > 1) {
        await finishBatch(trx, ctx.dialect.clockMs(trx), batch.id, { state: 'split', rows: 0, retries: attempts - 1, durationMs: 0, error })
        for (const half of split(batch, keys)) await insertBatch(trx, m.name, batch.phase, half, null)
        return
      }
      // No pending row left means the failure was not about a row (it changed under us): done.
      await finishBatch(trx, ctx.dialect.clockMs(trx), batch.id, {
        state: keys.length === 1 ? 'failed' : 'done',
        rows: 0,
        retries: attempts - 1,
        durationMs: 0,
        error,
      })
      if (keys.length === 1) await recordFailure(trx, m.name, keys[0], error, attempts)
    })
  } catch (err) {
    if (err instanceof LostClaimError) return
    throw err
  }
  if (keys.length > 1) {
    ctx.events.emit('batch:split', { run: m.name, batchId: batch.id, pendingRows: keys.length, error })
  } else if (keys.length === 1) {
    ctx.events.emit('object:failed', { run: m.name, key: keys[0], error })
    await stopIfTooManyFailures(ctx, error)
  }
}

function split(batch: Batch, keys: unknown[]): BatchBounds[] {
  const half = Math.floor(keys.length / 2)
  if (batch.keys) return [{ keys: keys.slice(0, half) }, { keys: keys.slice(half) }]
  const mid = keys[half - 1]
  return [
    { lo: batch.lo, hi: mid },
    { lo: mid, hi: batch.hi },
  ]
}

export async function stopIfTooManyFailures(ctx: WorkerContext, lastError: string): Promise<void> {
  const m = ctx.migration
  const failed = await countFailures(ctx.knex, m.name)
  if (failed < m.maxFailures) return
  const message = `stopped after ${failed} failed objects (maxFailures ${m.maxFailures}); the migration is likely broken. Last error: ${lastError}. Fix it, then \`evolve run ${m.name}\` continues and \`evolve retry ${m.name}\` re-drives the failed objects`
  await updateRun(
    ctx.knex,
    m.name,
    { state: 'failed', lastError: message, finishedAt: ctx.dialect.clockMs(ctx.knex) },
    { state: 'running' },
  )
}
