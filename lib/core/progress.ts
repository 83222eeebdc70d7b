import type { Knex } from 'knex'
import type { BatchTotals } from '../store/batch-totals.ts'
import type { Run, RunState } from '../store/runs.ts'
import { isoOrNull } from '../store/db.ts'
import type { Store } from '../store/store.ts'
import { liveWorkers } from './liveness.ts'
import { type SnapshotProgress, snapshotProgress } from './snapshot/progress.ts'

/** A run as `status` reports it. Counts are rows (objects), not batches. */
export interface RunProgress {
  name: string
  state: RunState
  /** The state as an operator reads it: `running (no workers)`, `running, throttled (why)`, … */
  stateText: string
  done: number
  failed: number
  /** Estimate: rows pending when the run started, less those done since. null before the run starts. */
  remaining: number | null
  /**
   * Rows pending when the run started (counted beside its first batches), or `done` when the scan
   * evolved more (rows the app wrote ahead of it meanwhile). `done` counts each row once: rows the
   * scan evolved and failed objects a retry evolved; rows the sweeps evolve again are not added.
   * Once done it is what the run handled, `done + failed`: a done run never reads as unfinished.
   */
  total: number | null
  phase: string
  sweepPass: number
  batches: number
  /** The batch size workers use now (it adapts toward the target batch duration). */
  batchSize: number | null
  retries: number
  /** Why workers hold back right now, or null. */
  throttled: string | null
  /** Workers serving the run now, on every machine. */
  workers: number
  /** Over the last 30 s while running; the average over the run once it ended. */
  rowsPerSecond: number | null
  etaSeconds: number | null
  startedAt: string | null
  finishedAt: string | null
  lastError: string | null
  /** Who made the last state change (CLI user@host, API token name, runner id), and why. */
  changedBy: string | null
  changeReason: string | null
  /** Snapshot mode only: the step, its progress and the read-only window. */
  snapshot?: SnapshotProgress
}

const RATE_WINDOW_MS = 30_000

export function notStarted(name: string): RunProgress {
  return {
    name,
    state: 'pending',
    stateText: 'pending',
    done: 0,
    failed: 0,
    remaining: null,
    total: null,
    phase: 'scan',
    sweepPass: 0,
    batches: 0,
    batchSize: null,
    retries: 0,
    throttled: null,
    workers: 0,
    rowsPerSecond: null,
    etaSeconds: null,
    startedAt: null,
    finishedAt: null,
    lastError: null,
    changedBy: null,
    changeReason: null,
  }
}

export async function getProgress(store: Store, knex: Knex, name: string): Promise<RunProgress> {
  if (!(await store.has(knex))) return notStarted(name)
  const progress = await runProgress(store, knex, name)
  const snapshot = await snapshotProgress(store, knex, name)
  if (!snapshot) return progress
  // Pending again, but `evolve run` refuses until the kept copy is dropped: say so where people look.
  if (snapshot.step === 'reverted' && progress.state === 'pending')
    return { ...progress, stateText: `reverted (evolve cleanup ${name}, then it can run again)`, snapshot }
  if (!snapshot.evolved) return { ...progress, snapshot }
  // The rows are evolved by the copy's run: they are this run's rows, and what remains is counted from them.
  const { done, failed } = snapshot.evolved
  const total = totalOf(progress.state, progress.total, done, failed)
  return { ...progress, done, failed, total, remaining: remainingOf(progress.state, total, done, failed), snapshot }
}

async function runProgress(store: Store, knex: Knex, name: string): Promise<RunProgress> {
  const run = await store.runs.get(knex, name)
  if (!run) return notStarted(name)
  const active = run.state === 'running' || run.state === 'paused'
  const workers = active ? (await liveWorkers(store, knex, name)).length : 0
  // Run and batch times are the database's clock: the current rate is measured by it too.
  const recent =
    run.state === 'running' ? { rows: await store.batches.recentRows(knex, name, RATE_WINDOW_MS), now: await store.now(knex) } : null
  return progressOf(run, await store.batches.totals(knex, name), await store.failures.count(knex, name), workers, recent)
}

/** Pure arithmetic: a run row and its counts → what `status` shows. */
export function progressOf(run: Run, totals: BatchTotals, failed: number, workers: number, recent: Recent | null): RunProgress {
  const total = totalOf(run.state, run.totalEstimate, totals.rowsDone, failed)
  const remaining = remainingOf(run.state, total, totals.rowsDone, failed)
  // A running run that no worker serves (all stopped or killed) makes no progress: no rate, no ETA.
  const rate = recent === null ? averageRate(run, totals) : workers > 0 ? currentRate(run, recent) : null
  // A reason left behind by a runner that was stopped is stale: no worker is holding back.
  const throttled = run.state === 'running' && workers > 0 ? run.throttleReason : null
  return {
    name: run.name,
    state: run.state,
    stateText: stateText(run.state, workers, throttled),
    done: totals.rowsDone,
    failed,
    remaining,
    total,
    phase: run.phase,
    sweepPass: run.sweepPass,
    batches: totals.batchesDone,
    batchSize: run.batchSize,
    retries: totals.retries,
    throttled,
    workers,
    rowsPerSecond: rate === null ? null : Math.round(rate),
    etaSeconds: rate && remaining !== null && run.state === 'running' ? Math.ceil(remaining / rate) : null,
    startedAt: isoOrNull(run.startedAt),
    finishedAt: isoOrNull(run.finishedAt),
    lastError: run.lastError,
    changedBy: run.changedBy,
    changeReason: run.changeReason,
  }
}

/** `running`, `running, throttled (why)`, or `running (no workers)` when nobody serves it. */
export function stateText(state: RunState, workers: number, throttled: string | null): string {
  if (state === 'running' && workers === 0) return 'running (no workers)'
  return throttled ? `${state}, throttled (${throttled})` : state
}

/** Rows finished in the last RATE_WINDOW_MS, and the database's clock at that moment. */
export interface Recent {
  rows: number
  now: number
}

function currentRate(run: Run, recent: Recent): number | null {
  if (run.startedAt === null) return null
  const window = Math.min(RATE_WINDOW_MS, recent.now - run.startedAt) / 1000
  return window > 0 ? recent.rows / window : null
}

function averageRate(run: Run, totals: BatchTotals): number | null {
  const end = run.finishedAt ?? totals.lastBatchAt
  if (run.startedAt === null || end === null || totals.rowsEvolved === 0) return null
  const seconds = (end - run.startedAt) / 1000
  // The work done, sweeps included, as the current rate counts it.
  return seconds > 0 ? totals.rowsEvolved / seconds : null
}

/**
 * The total a user reads beside `done`. The stored one is counted when the run starts: rows the app
 * writes in the old shape ahead of the scan (or a planner's estimate that fell short) make done pass
 * it, so it grows to done; rows the app itself moves out of `pending` meanwhile (or a snapshot run's
 * count of the whole table) leave it above what was ever to do, so a done run's total is what it
 * handled, and `done, 10000/10001 rows (99%)` cannot read as unfinished.
 */
function totalOf(state: RunState, stored: number | null, done: number, failed: number): number | null {
  if (state === 'done') return done + failed
  return stored === null ? null : Math.max(stored, done)
}

/** Rows still to evolve: none once done, unknown without a total. */
function remainingOf(state: RunState, total: number | null, done: number, failed: number): number | null {
  return state === 'done' ? 0 : total === null ? null : Math.max(0, total - done - failed)
}
