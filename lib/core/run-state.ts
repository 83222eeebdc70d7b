import type { Knex } from 'knex'
import type { Db } from '../store/db.ts'
import type { Run, RunPatch, RunState } from '../store/runs.ts'
import type { Store } from '../store/store.ts'
import { activeMs } from '../store/batch-totals.ts'
import { IDLE_GAP_MS } from './progress-rate.ts'
import type { EvolveEmitter } from './events.ts'
import { shadowRunName, snapshotOfShadow } from './snapshot/names.ts'

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
  /**
   * When `db` is a transaction and the run ends: the pool that reads the run's totals for
   * `run:end` once the transaction committed (the transaction itself is finished by then).
   */
  pool?: Knex
}

/** The states a run ends in: `run:end` announces each of them. */
export const ENDED: readonly RunState[] = ['done', 'failed', 'cancelled']

/**
 * Moves `run` (as last read) to `change.to` with a compare-and-set on its state: false when
 * another process changed the run first (the caller reads it again and decides anew). Throws
 * for a move the table forbids: that is a bug in the caller, not a race.
 */
export async function changeRunState(store: Store, events: EvolveEmitter, db: Db, run: Run, change: StateChange): Promise<boolean> {
  if (!canMove(run.state, change.to)) throw new Error(`run "${run.name}" cannot move from ${run.state} to ${change.to}`)
  const trx = db as Knex.Transaction
  const pool = trx.isTransaction ? change.pool : (db as Knex)
  if (!pool && ENDED.includes(change.to)) throw new Error(`run "${run.name}" ends in a transaction: changeRunState needs the pool`)
  const reason = change.reason ?? null
  // Running again (run, resume, retry): why it stopped last time, and what it left pending then, are
  // history, not this run's (status would show a stale error or count).
  const fresh = change.to === 'running' ? { lastError: null, pendingAtEnd: null, activeMs: null } : {}
  // Ended: the time its batches ran is counted once, for the rate status shows from then on.
  const ended = ENDED.includes(change.to) ? { activeMs: await activeMs(db, run.name, IDLE_GAP_MS) } : {}
  const moved = await store.runs.update(
    db,
    run.name,
    { ...fresh, ...ended, ...change.patch, state: change.to, changedBy: change.by, changeReason: reason },
    { ...change.expected, state: run.state },
  )
  if (!moved) return false
  const emit = async () => {
    events.emit('run:state', { run: run.name, from: run.state, to: change.to, by: change.by, reason })
    if (pool && ENDED.includes(change.to)) await announceEnd(store, events, pool, run.name, change.to, reason)
  }
  // Inside a transaction the change is real only once it commits (a rollback announces nothing).
  if (trx.isTransaction) void trx.executionPromise.then(emit, () => {}).catch(() => {})
  else await emit()
  return true
}

/**
 * Announces that `name` just ended in `state`: `run:end`, unless its unwind announces it. `reason`
 * is the change's; it is the event's `error` only for a failed run (a cancel is an operator's
 * decision, not an error: its reason is in `run:state`).
 */
export async function announceEnd(store: Store, events: EvolveEmitter, pool: Knex, name: string, state: RunState, reason: string | null) {
  if (state === 'cancelled' && (await unwindAnnounces(store, pool, name))) return
  await emitRunEnd(store, events, pool, name, state, state === 'failed' ? reason : null)
}

/** Emits `run:end` for `name` with its totals read from `pool` (not a finished transaction). */
export async function emitRunEnd(store: Store, events: EvolveEmitter, pool: Knex, name: string, state: RunState, error: string | null) {
  const { done, failed } = await endTotals(store, pool, name)
  events.emit('run:end', { run: name, state, done, failed, error })
}

/**
 * A run's rows done and objects failed, as `status` counts them (lib/core/progress.ts). A snapshot
 * run's work is its copy's run: its failed objects, and its rows once swapped in; it ended without
 * a swap, the table is untouched and none are done.
 */
async function endTotals(store: Store, pool: Knex, name: string): Promise<{ done: number; failed: number }> {
  // Tracking tables from before snapshot mode have no snapshots table: then no run used it.
  const snap = snapshotOfShadow(name) === undefined ? await store.snapshots.get(pool, name).catch(() => undefined) : undefined
  const counted = snap ? shadowRunName(name) : name
  const totals = await store.batches.totals(pool, counted)
  const failed = await store.failures.count(pool, counted)
  return { done: snap && snap.swappedAt === null ? 0 : totals.rowsDone, failed }
}

/*
 * A cancelled snapshot run's end is announced by its unwind (snapshot/unwind.ts abort(), run by its
 * runner wherever that runs, or by the cancel that finds none left), with the error saying what it
 * undid; its copy's run (`<name>.shadow`) ends with it. So the cancel itself announces nothing for
 * them: announcing here as well would be a second run:end.
 */
async function unwindAnnounces(store: Store, pool: Knex, name: string): Promise<boolean> {
  if (snapshotOfShadow(name) !== undefined) return true
  // Its runner unwinds it (or finishes it: a cancel that landed during the swap), wherever it runs.
  return (await store.snapshots.get(pool, name)) !== undefined
}
