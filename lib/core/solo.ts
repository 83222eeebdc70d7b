import type { Batch } from '../store/batches.ts'
import type { WorkerContext } from './context.ts'

/*
 * A batch whose process died in it is suspected of killing it (execute-batch.ts counts deaths to
 * split such a batch). A process dies with every batch its workers were in: a death says which
 * batch only when that batch was the only one in flight. So a suspect batch (taken over, or a
 * half of one split for deaths: attempts > 0) runs alone in its process: its siblings finish the
 * batches they are in and start none until it ends. Otherwise a deadly row's healthy neighbours,
 * in flight beside it in sibling workers, would be counted as deadly too, and recorded as failed.
 */

/**
 * The process's workers, whatever Runner they belong to (a library may run several at once): a
 * death takes all of them. `inFlight`: workers in a turn; `solo`: the one running a suspect batch.
 */
const here = { inFlight: 0, solo: null as string | null }

/** A batch a death may be blamed on: taken over from a dead worker, or carrying the suspicion of one split for deaths. */
export const isSuspect = (batch: Batch): boolean => batch.attempts > 0

/** A worker enters its turn (claim and batch); false while a suspect batch runs alone: hold instead. */
export function enterTurn(): boolean {
  if (here.solo !== null) return false
  here.inFlight++
  return true
}

export function leaveTurn(ctx: WorkerContext): void {
  here.inFlight--
  ctx.wakeup.wake() // a suspect batch waiting for its siblings to finish goes on (another Runner's polls)
}

/**
 * Before a suspect batch: once no other worker of the process is in a batch any more, true, and
 * none starts one until endAlone. False when another's suspect batch runs alone already.
 */
async function runAlone(ctx: WorkerContext, batchId: number): Promise<boolean> {
  if (here.solo !== null && here.solo !== ctx.workerId) return false
  here.solo = ctx.workerId
  // Counting itself where workers enter turns (enterTurn); where they take turns one at a time (SQLite), 0.
  if (here.inFlight > 1)
    ctx.events.emit('batch:alone', { run: ctx.migration.name, batchId, waitingFor: here.inFlight - 1, worker: ctx.workerId })
  while (here.inFlight > 1 && !ctx.signal.aborted) await ctx.wakeup.wait(ctx.options.pollMs, ctx.signal)
  return true
}

/**
 * Claims a suspect batch once the process's other workers have left theirs (runAlone), never
 * before: a claim counts the batch in flight, and a sibling's batch that killed the process while
 * this one waited would be counted against it too. Gives the solo turn back unless it claimed;
 * 'again' when another worker's suspect batch runs alone already.
 */
export async function claimAlone<T extends { kind: string }>(
  ctx: WorkerContext,
  batchId: number,
  claim: () => Promise<T | { kind: 'again' }>,
): Promise<T | { kind: 'again' }> {
  if (!(await runAlone(ctx, batchId))) return { kind: 'again' }
  let step: T | { kind: 'again' } | undefined
  try {
    step = await claim()
    return step
  } finally {
    if (step?.kind !== 'batch') endAlone(ctx)
  }
}

export function endAlone(ctx: WorkerContext): void {
  if (here.solo !== ctx.workerId) return
  here.solo = null
  ctx.wakeup.wake()
}
