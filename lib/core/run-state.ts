import type { Knex } from 'knex'
import type { Db } from '../store/db.ts'
import type { Run, RunPatch, RunState } from '../store/runs.ts'
import type { Store } from '../store/store.ts'
import type { EvolveEmitter } from './events.ts'

/**
 * Every state a run may move to from each state. This table and `changeRunState` are the
 * only writers of a run's state: the runner, finalize, failure isolation, retry and the
 * operator's pause/resume/cancel all go through here, so every change emits `run:state`.
 */
export const TRANSITIONS: Record<RunState, readonly RunState[]> = {
  pending: ['running', 'paused', 'cancelled'],
  running: ['paused', 'cancelled', 'done', 'failed'],
  paused: ['running', 'cancelled'],
  // `evolve run` (or resume) picks a cancelled run up again.
  cancelled: ['running'],
  // A failed run resumes: `run` sweeps again, `retry` re-drives its failed objects.
  failed: ['running'],
  done: [],
}

export function canMove(from: RunState, to: RunState): boolean {
  return TRANSITIONS[from].includes(to)
}

export interface StateChange {
  to: RunState
  /** Who asks: `user@host` from the CLI, an API token's name, `runner host:pid`. */
  by: string
  reason?: string | null
  /** Other columns written in the same compare-and-set (times, lastError, phase…). */
  patch?: Omit<RunPatch, 'state' | 'changedBy' | 'changeReason'>
  /** Other columns that must still hold the values `run` had (besides its state). */
  expected?: Omit<RunPatch, 'state'>
}

/**
 * Moves `run` (as last read) to `change.to` with a compare-and-set on its state: false when
 * another process changed the run first (the caller reads it again and decides anew). Throws
 * for a move the table forbids: that is a bug in the caller, not a race.
 */
export async function changeRunState(store: Store, events: EvolveEmitter, db: Db, run: Run, change: StateChange): Promise<boolean> {
  if (!canMove(run.state, change.to)) throw new Error(`run "${run.name}" cannot move from ${run.state} to ${change.to}`)
  const reason = change.reason ?? null
  const moved = await store.runs.update(
    db,
    run.name,
    { ...change.patch, state: change.to, changedBy: change.by, changeReason: reason },
    { ...change.expected, state: run.state },
  )
  if (!moved) return false
  const emit = () => announce(store, events, db, run, change.to, change.by, reason)
  // Inside a transaction the change is real only once it commits.
  const trx = db as Knex.Transaction
  if (trx.isTransaction) void trx.executionPromise.then(emit, () => {})
  else await emit()
  return true
}

async function announce(store: Store, events: EvolveEmitter, db: Db, run: Run, to: RunState, by: string, reason: string | null) {
  events.emit('run:state', { run: run.name, from: run.state, to, by, reason })
  if (to !== 'done' && to !== 'failed') return
  const knex = (db as Knex.Transaction).isTransaction ? undefined : (db as Knex)
  if (!knex) return
  const totals = await store.batches.totals(knex, run.name)
  const failed = await store.failures.count(knex, run.name)
  events.emit('run:end', { run: run.name, state: to, done: totals.rowsDone, failed, error: to === 'failed' ? reason : null })
}
