import type { Knex } from 'knex'
import type { BatchTotals } from '../store/batch-totals.ts'
import type { Run, RunState } from '../store/runs.ts'
import { isoOrNull } from '../store/db.ts'
import type { Store } from '../store/store.ts'
import { liveWorkers } from './liveness.ts'
import { activeMs } from '../store/batch-totals.ts'
import { IDLE_GAP_MS, RATE_WINDOW_MS, type Recent, averageRate, currentRate } from './progress-rate.ts'
import { type SnapshotProgress, snapshotProgress } from './snapshot/progress.ts'

/** A run as `status` reports it. Counts are rows (objects), not batches. */
export interface RunProgress {
  name: string
  state: RunState
  /** The state as an operator reads it: `running (no workers)`, `running, throttled (why)`, … */
  stateText: string
  /**
   * Rows of the table this run evolved. A snapshot run's are its copy's (run `<name>.shadow`) while
   * it runs and once swapped in; one that ended without a swap (failed, cancelled) left the table
   * untouched: 0, and the copy's count stays in `snapshot.evolved`.
   */
  done: number
  /** Objects recorded as failed (a snapshot run's: its copy's). */
  failed: number
  /**
   * Rows still to evolve: 0 once done; before, the rows pending when the run started less those
   * done since (an estimate). A run that ended with rows pending (its sweeps kept finding some, or
   * rows with a NULL key) shows the count it found then (more may have been written since). While
   * a sweep goes on, or a run stopped in one, it is null: the sweep found rows pending again and
   * the start's count says nothing of them. null also before the run starts. A snapshot run that
   * ended without a swap: its copy's rows (the table still has them all to do).
   */
  remaining: number | null
  /**
   * Rows pending when the run started (counted beside its first batches), or `done` when the scan
   * evolved more (rows the app wrote ahead of it meanwhile). `done` counts each row once: rows the
   * scan evolved and failed objects a retry evolved; rows the sweeps evolve again are not added.
   * Once done it is what the run handled, `done + failed`: a done run never reads as unfinished.
   * A run that ended with a known count of rows still pending: `done + failed + remaining`, so it
   * never reads as finished either.
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
  /**
   * Over the last 30 s while running. Once it stopped (ended or paused): every row its batches
   * evolved (sweeps included) over the time they ran, from its first batch's claim to its last
   * batch's end less every stretch of 10 s or more with no batch in flight (a pause, a failed run
   * waiting for its rerun, a long throttle): waits shorter than that (pacing, a rate limit) count.
   */
  rowsPerSecond: number | null
  etaSeconds: number | null
  startedAt: string | null
  finishedAt: string | null
  lastError: string | null
  /** Who made the last state change (CLI user@host, API token name, runner id), and why. */
  changedBy: string | null
  changeReason: string | null
  /**
   * The database has this run and the migrations directory no file of its name (`evolve status`:
   * `(no file here)`): `evolve run` leaves it alone. Never set on a snapshot run's copy.
   */
  noFile: boolean
  /**
   * How the migration's file now differs from what its run started with: `table users → accounts`,
   * `key …`, `mode …` (`evolve run` refuses to go on), or `its code` (it goes on, and says so).
   * null when the same, unknown (a run an older version opened), or not started.
   */
  fileChanged: string | null
  /** When the run last went on with changed code: rows evolved before then used the old code. null: never. */
  codeChangedAt: string | null
  /**
   * A migration that has not run but has the table and code of a started run with no file here
   * (its old name, it seems): `evolve run` refuses to evolve those rows again unless allowed.
   */
  renamedFrom: string | null
  /** Snapshot mode only: the step, its progress and the read-only window. */
  snapshot?: SnapshotProgress
}

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
    noFile: false,
    fileChanged: null,
    codeChangedAt: null,
    renamedFrom: null,
  }
}

/** The ends that are not done: a snapshot run that ended so without its swap left the table untouched. */
const ENDED_UNDONE: readonly RunState[] = ['failed', 'cancelled']

export async function getProgress(store: Store, knex: Knex, name: string): Promise<RunProgress> {
  if (!(await store.has(knex))) return notStarted(name)
  const progress = await runProgress(store, knex, name)
  const snapshot = await snapshotProgress(store, knex, name)
  if (!snapshot) return progress
  // Pending again, but `evolve run` refuses until the kept copy is dropped: say so where people look.
  if (snapshot.step === 'reverted' && progress.state === 'pending')
    return { ...progress, stateText: `reverted (evolve cleanup ${name}, then it can run again)`, snapshot }
  if (!snapshot.evolved) return { ...progress, snapshot }
  const { done, failed } = snapshot.evolved
  // Ended without a swap: the table is untouched, so none of the copy's rows are the table's, and
  // every row the copy had to do is still to do in the table.
  if (ENDED_UNDONE.includes(progress.state) && snapshot.swappedAt === null) {
    const todo = snapshot.evolved.total ?? null
    return { ...progress, done: 0, failed, total: todo, remaining: todo, snapshot }
  }
  // Running, or swapped in: the copy's run evolves this run's rows, and what remains is counted from them.
  const total = totalOf(progress.state, progress.total, done, failed)
  const remaining = progress.state === 'done' ? 0 : total === null ? null : Math.max(0, total - done - failed)
  return { ...progress, done, failed, total, remaining, snapshot }
}

async function runProgress(store: Store, knex: Knex, name: string): Promise<RunProgress> {
  const run = await store.runs.get(knex, name)
  if (!run) return notStarted(name)
  const active = run.state === 'running' || run.state === 'paused'
  const workers = active ? (await liveWorkers(store, knex, name)).length : 0
  // Run and batch times are the database's clock: the current rate is measured by it too.
  const now = run.state === 'running' ? await store.now(knex) : null
  const recent = now === null ? null : { rows: await store.rates.recentRows(knex, name, RATE_WINDOW_MS, now), now }
  // An ended run's was counted when it ended; a paused one's is counted now.
  const ran = recent === null ? (run.activeMs ?? (await activeMs(knex, name, IDLE_GAP_MS))) : undefined
  return progressOf(run, await store.batches.totals(knex, name), await store.failures.count(knex, name), workers, recent, ran)
}

/**
 * Pure arithmetic: a run row and its counts → what `status` shows. `active`: the time its batches
 * ran (see `activeMs`); without it a stopped run's rate is over its start to its end.
 */
export function progressOf(
  run: Run,
  totals: BatchTotals,
  failed: number,
  workers: number,
  recent: Recent | null,
  active?: number | null,
): RunProgress {
  const atEnd = run.state === 'failed' ? run.pendingAtEnd : null
  const total = atEnd === null ? totalOf(run.state, run.totalEstimate, totals.rowsDone, failed) : totals.rowsDone + failed + atEnd
  const remaining = atEnd ?? remainingOf(run, total, totals.rowsDone, failed)
  // A running run that no worker serves (all stopped or killed) makes no progress: no rate, no ETA.
  const rate = recent === null ? averageRate(run, totals, active) : workers > 0 ? currentRate(run, recent) : null
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
    // What the files here say is the admin layer's to add (it knows the directory): Evolve.status().
    noFile: false,
    fileChanged: null,
    codeChangedAt: isoOrNull(run.codeChangedAt),
    renamedFrom: null,
  }
}

/** `running`, `running, throttled (why)`, or `running (no workers)` when nobody serves it. */
export function stateText(state: RunState, workers: number, throttled: string | null): string {
  if (state === 'running' && workers === 0) return 'running (no workers)'
  return throttled ? `${state}, throttled (${throttled})` : state
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

/** Rows still to evolve: none once done, unknown without a total or in a sweep (see RunProgress). */
function remainingOf(run: Run, total: number | null, done: number, failed: number): number | null {
  if (run.state === 'done') return 0
  // Finalize ended it after a whole pass that found only failed objects left: the estimate holds.
  const finalized = run.state === 'failed' && run.scanDone
  if (run.phase === 'sweep' && !finalized) return null
  return total === null ? null : Math.max(0, total - done - failed)
}
