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

export type SoloTurn = Pick<WorkerContext['turn'], 'inFlight' | 'solo'>

/** A batch a death may be blamed on: taken over from a dead worker, or carrying the suspicion of one split for deaths. */
export const isSuspect = (batch: Batch): boolean => batch.attempts > 0

/** A sibling worker enters its turn (claim and batch); false while a suspect batch runs alone: hold instead. */
export function enterTurn(turn: SoloTurn): boolean {
  if (turn.solo !== null) return false
  turn.inFlight++
  return true
}

export function leaveTurn(ctx: WorkerContext): void {
  ctx.turn.inFlight--
  ctx.wakeup.wake() // a suspect batch waiting for its siblings to finish goes on
}

/**
 * Before a suspect batch: once no sibling is in a batch any more, true, and none starts one until
 * endAlone. False when a sibling's suspect batch runs alone already: give this claim back.
 */
export async function runAlone(ctx: WorkerContext): Promise<boolean> {
  const { turn } = ctx
  if (turn.solo !== null && turn.solo !== ctx.workerId) return false
  turn.solo = ctx.workerId
  // This worker counts itself where siblings enter turns (enterTurn); where they take turns one at a time, none is in one.
  while (turn.inFlight > 1 && !ctx.signal.aborted) await ctx.wakeup.wait(ctx.options.pollMs, ctx.signal)
  return true
}

export function endAlone(ctx: WorkerContext): void {
  if (ctx.turn.solo !== ctx.workerId) return
  ctx.turn.solo = null
  ctx.wakeup.wake()
}
