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
 * none starts one until endAlone. False when another's suspect batch runs alone already: give
 * this claim back.
 */
export async function runAlone(ctx: WorkerContext): Promise<boolean> {
  if (here.solo !== null && here.solo !== ctx.workerId) return false
  here.solo = ctx.workerId
  // Counting itself where workers enter turns (enterTurn); where they take turns one at a time (SQLite), 0.
  while (here.inFlight > 1 && !ctx.signal.aborted) await ctx.wakeup.wait(ctx.options.pollMs, ctx.signal)
  return true
}

export function endAlone(ctx: WorkerContext): void {
  if (here.solo !== ctx.workerId) return
  here.solo = null
  ctx.wakeup.wake()
}
