import type { Knex } from 'knex'
import type { Thrown } from './apply-migration.ts'
import { LostClaimError } from '../errors.ts'
import type { Batch, BatchBounds } from '../store/batches.ts'
import type { Taken } from '../store/failures.ts'
import { changeRunState } from './run-state.ts'
import { afterFailures, snapshotOfShadow } from './snapshot/names.ts'
import type { WorkerContext } from './context.ts'
import { pendingKeys, withoutFailed } from './planner.ts'
import { encodeKey } from '../store/db.ts'

/*
 * Two ways a failing object is found. A transform runs in JavaScript row by row, so its throw
 * names its row: the row is recorded as failed and the batch's other rows are written, in the
 * same transaction (apply-migration.ts, recordThrown). What no row can be blamed for in JavaScript
 * (`up`, which gets the whole batch; a database error on the batch's write, such as a constraint)
 * splits the batch in halves until the failing row stands alone (isolateFailure).
 */

/**
 * Thrown by recordThrown when a batch's throwing rows would take the run past `maxFailures`: the
 * batch rolls back and is split (isolateFailure), so the run records failures up to the limit and
 * stops there, as it always has, instead of recording a whole batch of a broken transform.
 */
class TooManyThrown extends Error {}

/**
 * In the batch's transaction: records the rows whose transform threw as failed objects, as
 * isolation records them (the error, the attempts), a retry's with the attempts it took over.
 * The rows were read under lock in this transaction, so what is recorded is what failed. Returns
 * the keys recorded; the caller emits `object:failed` once the transaction committed.
 */
export async function recordThrown(
  trx: Knex.Transaction,
  ctx: WorkerContext,
  thrown: Thrown[],
  taken: Map<string, Taken>,
  attempts: number,
): Promise<Thrown[]> {
  const m = ctx.migration
  if (thrown.length === 0) return thrown
  // No room at all (a run resumed at its limit) counts too: a single new failure would be one past it.
  const room = m.maxFailures - (await ctx.store.failures.count(trx, m.name))
  if (thrown.length > room) {
    // Objects failed already (or taken from their records by this retry batch) count once.
    const failed = await ctx.store.failures.recorded(
      trx,
      m.name,
      thrown.map((t) => t.key),
    )
    const fresh = thrown.filter((t) => !failed.has(encodeKey(t.key)) && !taken.has(encodeKey(t.key))).length
    if (fresh > 0 && fresh > room) throw new TooManyThrown(thrown[0]!.error)
  }
  for (const t of thrown) {
    await ctx.store.failures.record(trx, m.name, t.key, t.error, attempts + (taken.get(encodeKey(t.key))?.attempts ?? 0))
  }
  return thrown
}

/**
 * A batch failed for good. Split it in two (as new pending batches) until a batch
 * holds one object; that object is recorded as failed and the run goes on. Each
 * step commits with the batch row it retires, so a crash mid-way loses nothing.
 * `halvesStartAt`: the attempts the halves start from (see WORKER_DEATHS_BEFORE_SPLIT).
 */
export async function isolateFailure(ctx: WorkerContext, batch: Batch, error: string, attempts: number, halvesStartAt = 0): Promise<void> {
  const m = ctx.migration
  const { store } = ctx
  // A run resumed with `maxFailures` objects failed already may record no new one: it stops at
  // once, and the batch, still claimed, goes back pending as the worker leaves (its rows wait for
  // the run after a fix). A retry batch's objects are failures already: re-recording them adds none.
  if (batch.phase !== 'retry' && (await store.failures.count(ctx.knex, m.name)) >= m.maxFailures) {
    await stopIfTooManyFailures(ctx, error)
    return
  }
  // A sweep's failed objects were left out of it: they are not split for again.
  const keys = await pendingKeys(ctx.knex, m, await withoutFailed(ctx.knex, m, batch))
  try {
    await ctx.knex.transaction(async (trx) => {
      if (!(await store.batches.fence(trx, batch.id, ctx.workerId))) throw new LostClaimError(batch.id)
      // Failed objects of a retry batch that need no evolving any more are failures no longer.
      if (batch.phase === 'retry') {
        const still = new Set(keys.map(encodeKey))
        await store.failures.clear(
          trx,
          m.name,
          (batch.keys ?? []).filter((k) => !still.has(encodeKey(k))),
        )
      }
      if (keys.length > 1) {
        await store.batches.finish(trx, batch.id, { state: 'split', rows: 0, retries: attempts - 1, durationMs: 0, error })
        for (const half of split(batch, keys)) {
          const made = await store.batches.insert(trx, m.name, batch.phase, half, null)
          if (halvesStartAt > 0) await store.batches.setAttempts(trx, made.id, halvesStartAt)
        }
        return
      }
      // No pending row left means the failure was not about a row (it changed under us): done.
      await store.batches.finish(trx, batch.id, {
        state: keys.length === 1 ? 'failed' : 'done',
        rows: 0,
        retries: attempts - 1,
        durationMs: 0,
        error,
      })
      if (keys.length === 1) await store.failures.record(trx, m.name, keys[0], error, attempts)
    })
  } catch (err) {
    if (err instanceof LostClaimError) return
    throw err
  }
  if (keys.length > 1) {
    ctx.events.emit('batch:split', { run: m.name, batchId: batch.id, pendingRows: keys.length, error, worker: ctx.workerId })
  } else if (keys.length === 1) {
    ctx.events.emit('object:failed', { run: m.name, key: keys[0], error, worker: ctx.workerId })
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
  const failed = await ctx.store.failures.count(ctx.knex, m.name)
  if (failed < m.maxFailures) return
  const message = `stopped after ${failed} failed objects (maxFailures ${m.maxFailures}); the migration is likely broken. Last error: ${lastError}. ${snapshotOfShadow(m.name) === undefined ? `Fix it, then \`evolve run ${m.name}\` continues and \`evolve retry ${m.name}\` re-drives the failed objects` : afterFailures(m.name).replace(/^f/, 'F')}`
  await failRun(ctx, message)
}

/** Ends a running run as failed with `message` (the migration is broken); lost to another change, nothing happens. */
export async function failRun(ctx: WorkerContext, message: string): Promise<void> {
  const run = await ctx.store.runs.get(ctx.knex, ctx.migration.name)
  if (run?.state !== 'running') return
  // Lost to another change (a sibling stopped it first, an operator paused it): nothing to add.
  await changeRunState(ctx.store, ctx.events, ctx.knex, run, {
    to: 'failed',
    by: ctx.by,
    reason: message,
    patch: { lastError: message, finishedAt: 'now' },
  })
}
