import type { Knex } from 'knex'
import { errorMessage } from '../errors.ts'
import type { Store } from '../store/store.ts'
import { estimateTotal } from './estimate-total.ts'
import type { EvolveEmitter } from './events.ts'
import type { Migration } from './migration.ts'

export interface CountTotalContext {
  knex: Knex
  store: Store
  events: EvolveEmitter
}

/**
 * Counts a run's total beside its first batches (it is only a progress total: no batch
 * waits for it) and stores it, unless a total is stored already: another process counted
 * first, or the run kept the one it started with. Emits `run:total` when it stored one,
 * or with the error when the count failed (a statement timeout on a busy table, say):
 * the run goes on without a total. Never rejects.
 */
export async function countTotal(ctx: CountTotalContext, m: Migration): Promise<void> {
  let stored: number | null = null
  try {
    const total = await estimateTotal(ctx.knex, ctx.store, m)
    if (await ctx.store.runs.update(ctx.knex, m.name, { totalEstimate: total }, { totalEstimate: null })) stored = total
  } catch (err) {
    emit(ctx, { run: m.name, total: null, error: errorMessage(err) })
    return
  }
  if (stored !== null) emit(ctx, { run: m.name, total: stored, error: null })
}

/** A listener that throws must not turn the progress total into the run's failure. */
function emit(ctx: CountTotalContext, event: { run: string; total: number | null; error: string | null }): void {
  try {
    ctx.events.emit('run:total', event)
  } catch {
    // The listener's own problem: the run does not depend on it.
  }
}
