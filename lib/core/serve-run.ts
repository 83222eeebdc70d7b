import type { Dialect, Presence } from '../dialects/dialect.ts'
import type { Run } from '../store/runs.ts'
import type { Store } from '../store/store.ts'
import type { RunOptions, WorkerContext } from './context.ts'
import type { EvolveEmitter, EvolveEvents } from './events.ts'
import { type Noticing, isNoticed, noticeChanges } from './notice-changes.ts'
import type { Migration } from './migration.ts'
import { type RunProgress, getProgress } from './progress.ts'
import { finishReadOnlyRun, startReadOnlyRun } from './read-only-run.ts'
import type { RunnerOptions } from './runner-options.ts'
import type { Wakeup } from './wakeup.ts'
import { newWorkerId, runWorker } from './worker.ts'
import { ENDED, announceEnd } from './run-state.ts'
import { type BatchSizer, defaultMaxBatchSize } from './pacing.ts'

/*
 * Serving one migration's in-place run with this process's workers: start them, stop them all
 * at the first fatal error or at the Runner's stop(), and give the table back once the run is
 * done. Apart from the Runner (runner.ts), which decides which runs to serve and when; this is
 * how one is served, the same for run(), retry() and a snapshot's copy.
 */

/** What serving needs of its Runner: the Runner's own state, shared by every run it serves. */
export interface Serving {
  config: RunnerOptions
  store: Store
  dialect: Dialect
  events: EvolveEmitter
  by: string
  /** The Runner's stop(). */
  abort: AbortController
  wakeup: Wakeup
  turn: WorkerContext['turn']
  /** The Runner's options, the same object: setBatchSize() changes them for workers started later. */
  options: RunOptions
  sizers: Set<BatchSizer>
}

export async function serveRun(runner: Serving, m: Migration, before?: Run): Promise<RunProgress> {
  const { knex } = runner.config
  const run = before ?? (await runner.store.runs.get(knex, m.name))
  runner.events.emit('run:start', {
    run: m.name,
    state: run?.state ?? 'running',
    total: run?.totalEstimate ?? null,
    resumed: (run?.startedAt ?? null) !== null,
  })
  const readOnly = await startReadOnlyRun(runner.store, knex, runner.events, m, runner.by)
  // Made once presence is open, so a failure to open it leaves no reader behind.
  const notice: { ing?: Noticing } = {}
  const presence = await runner.dialect.openPresence?.(knex, (name) => {
    if (name !== m.name) return
    runner.wakeup.wake()
    notice.ing?.look()
  })
  // Pauses, resumes and cancels made elsewhere go in this process's events (and so its log) too.
  const noticing = (notice.ing = noticeChanges(runner.store, knex, runner.events, m.name, { pollMs: runner.options.pollMs }))
  // This serve's own stop signal: stop() ends it, and so does one worker's fatal error,
  // which must not leave the Runner stopped for a later run() or retry().
  const stopping = new AbortController()
  // Whether this process ended the run (its worker finished it, or its admin object cancelled it):
  // then that change announces the end. Otherwise another process ended it: announced below.
  // run:state comes at once, run:end only after the totals are read, which a worker may outrun.
  let announced = false
  // Another process's change, as noticed here, is no end made here: it is announced below.
  const heard = (e: EvolveEvents['run:state'][0]) => void (e.run === m.name && !isNoticed(e) && (announced = ENDED.includes(e.to)))
  runner.events.on('run:state', heard)
  const stop = () => stopping.abort()
  runner.abort.signal.addEventListener('abort', stop, { once: true })
  if (runner.abort.signal.aborted) stop()
  try {
    const count = Math.max(1, runner.config.workers ?? 1)
    // One worker's fatal error stops its siblings (after their current batch) before
    // presence closes under them; then the first error is thrown.
    const settled = await Promise.allSettled(
      Array.from({ length: count }, () =>
        runWorker({ ...workerContext(runner, m, stopping.signal, presence), writeBypass: readOnly.writeBypass }).catch((err: unknown) => {
          stop()
          throw err
        }),
      ),
    )
    const failed = settled.find((r) => r.status === 'rejected')
    if (failed) throw failed.reason
  } finally {
    readOnly.stop()
    runner.events.off('run:state', heard)
    runner.abort.signal.removeEventListener('abort', stop)
    await presence?.close()
    await noticing.stop()
  }
  const progress = await getProgress(runner.store, knex, m.name)
  // The workers may have seen another process's cancel (or pause) before the next read: said before its end.
  await noticing.stop(progress)
  // The workers left because the run ended: in this process's view it ended here. A stop() that
  // leaves a running or paused run to other processes is no end.
  if (!announced && ENDED.includes(progress.state))
    await announceEnd(runner.store, runner.events, knex, m.name, progress.state, progress.lastError)
  // Only a finished run gives the table back: paused, stopped or failed, it stays read-only (safe).
  if (progress.state === 'done') await finishReadOnlyRun(runner.store, knex, runner.events, m)
  return progress
}

function workerContext(runner: Serving, m: Migration, signal: AbortSignal, presence?: Presence): WorkerContext {
  const { knex } = runner.config
  return {
    knex,
    dialect: runner.dialect,
    store: runner.store,
    migration: m,
    events: runner.events,
    workerId: newWorkerId(),
    by: runner.by,
    // How many rows a batch may span depends on what it holds (pacing.ts), unless the caller says.
    options: { ...runner.options, maxBatchSize: runner.config.maxBatchSize ?? defaultMaxBatchSize(m.mode) },
    signal,
    wakeup: runner.wakeup,
    turn: runner.turn,
    presence,
    sizers: runner.sizers,
  }
}
