import { hostname } from 'node:os'
import type { Dialect } from '../dialects/dialect.ts'
import { usage } from '../errors.ts'
import { type Store, storeFor } from '../store/store.ts'
import { RUN_DEFAULTS, type RunOptions } from './context.ts'
import { EvolveEmitter } from './events.ts'
import { type Migration, inSnapshotMode } from './migration.ts'
import { countTotal } from './count-total.ts'
import { type RunProgress, getProgress } from './progress.ts'
import { enqueueFailures, notRunYet } from './enqueue-failures.ts'
import { runActor } from './read-only-run.ts'
import { assertRunMayGuard } from './read-only-conflicts.ts'
import { readOnlyActor } from './snapshot/names.ts'
import { openRun } from './open-run.ts'
import { validateMigrations } from './validate.ts'
import { Wakeup } from './wakeup.ts'
import { newWorkerId } from './worker.ts'
import { whileAlive } from './liveness.ts'
import { runSnapshot } from './snapshot/run-snapshot.ts'
import type { BatchSizer } from './pacing.ts'
import { validateRunOptions } from './validate-options.ts'
import { type RunnerOptions, dialectPace } from './runner-options.ts'
import { stripUndefined } from './strip-undefined.ts'
import { type Serving, serveRun } from './serve-run.ts'
import { explainFault } from './database-fault.ts'

/**
 * Runs migrations against a live database. Several runners, in one process or on
 * many machines, can serve the same run at once.
 *
 * @example
 * ```ts
 * const runner = new Runner({ knex, migrations: await loadMigrations('./migrations') })
 * runner.events.on('batch:done', (e) => console.log(e.rows))
 * const results = await runner.run()
 * ```
 */
export class Runner {
  readonly events: EvolveEmitter
  readonly dialect: Dialect
  private readonly store: Store
  private readonly by: string
  private readonly abort = new AbortController()
  private readonly wakeup = new Wakeup()
  private readonly turn: Serving['turn'] = { busy: false, at: 0, gap: 0, othersWroteAt: -Infinity }
  private readonly options: RunOptions
  private readonly sizers = new Set<BatchSizer>()
  private readonly serving: Serving

  constructor(private readonly config: RunnerOptions) {
    this.store = storeFor(config.knex)
    this.dialect = this.store.dialect
    this.events = config.events ?? new EvolveEmitter()
    this.by = config.by ?? `runner ${hostname()}:${process.pid}`
    this.options = { ...RUN_DEFAULTS, ...dialectPace(this.dialect, config), ...stripUndefined(config) }
    const { store, dialect, events, by, abort, wakeup, turn, options, sizers } = this
    this.serving = { config, store, dialect, events, by, abort, wakeup, turn, options, sizers }
  }

  /** Checks the options and every migration against the database; throws before anything has changed. */
  async validate(): Promise<void> {
    const { knex } = this.config
    await validateRunOptions({ knex, store: this.store, dialect: this.dialect, options: this.options })
    await validateMigrations(knex, this.dialect, this.config.migrations)
    // A run that takes the read-only switch may not change an operator's: refused here, before the run starts.
    for (const m of this.config.migrations) {
      const actor = inSnapshotMode(m, this.config.mode) ? readOnlyActor(m) : m.readOnly ? runActor(m) : undefined
      if (actor) await assertRunMayGuard(this.store, knex, actor, [m.table])
    }
  }

  /** Runs the migrations in order; stops at the first that does not end `done`. */
  async run(): Promise<RunProgress[]> {
    try {
      return await this.runAll()
    } catch (err) {
      throw explainFault(this.dialect, err) // e.g. the tracking tables a role may not create
    }
  }

  private async runAll(): Promise<RunProgress[]> {
    await this.validate()
    await this.store.ensure(this.config.knex)
    const results: RunProgress[] = []
    for (const m of this.config.migrations) {
      const result = inSnapshotMode(m, this.config.mode) ? await this.runSnapshot(m) : await this.runOne(m)
      results.push(result)
      if (result.state !== 'done' || this.abort.signal.aborted) break
    }
    return results
  }

  /** Re-drives the failed objects of one migration's run, then finishes the run. */
  async retry(name: string): Promise<RunProgress> {
    const m = this.migration(name)
    await this.validate()
    // Without tracking tables there is nothing to retry: say so without creating them.
    if (!(await this.store.has(this.config.knex))) throw notRunYet(name)
    await this.store.ensure(this.config.knex)
    // Objects queued already (by the admin API, or a retry that died before serving them) are served, not queued twice.
    await enqueueFailures(this.store, this.events, this.config.knex, m, this.options.batchSize ?? m.batchSize, this.by, {
      acceptQueued: true,
    })
    return serveRun(this.serving, m)
  }

  /** Asks the workers to finish their current batch and stop; the run stays resumable. */
  stop(): void {
    this.abort.abort()
  }

  /**
   * Sets the batch size of this runner's workers (now, and for workers it starts later);
   * the size is then fixed, no longer adapted. Returns the size set.
   */
  setBatchSize(size: number): number {
    if (!Number.isInteger(size) || size < 1) throw usage('E_BAD_BATCH_SIZE', `batch size must be a positive integer, got ${size}`)
    this.options.batchSize = size
    for (const sizer of this.sizers) sizer.fix(size)
    return size
  }

  /** The batch size of this runner's workers now (the largest, if they differ), or null with no worker. */
  get batchSize(): number | null {
    const sizes = [...this.sizers].map((s) => s.current)
    return sizes.length > 0 ? Math.max(...sizes) : null
  }

  /**
   * The most rows a batch of this runner takes whatever its size: `maxRowsPerSecond` (a batch never
   * takes more than one second's budget: worker.ts), or null without a rate limit.
   */
  get batchCap(): number | null {
    return this.options.maxRowsPerSecond ?? null
  }

  /** True once stop() was called: run() may then return before every migration had its turn. */
  get stopped(): boolean {
    return this.abort.signal.aborted
  }

  private async runOne(m: Migration): Promise<RunProgress> {
    const { knex } = this.config
    const { store } = this
    const { run, skipped } = await openRun({ store, events: this.events, knex, by: this.by }, m)
    if (skipped) return getProgress(store, knex, m.name)
    // A run without a total (new, or its runner died before the count landed) counts it now,
    // on a connection of its own where the pool has several. Settled before returning: the
    // caller may destroy the knex once run() resolves.
    const counting = run.totalEstimate === null ? countTotal({ knex, store, events: this.events }, m) : undefined
    let progress: RunProgress
    try {
      // run:start reports the state the run starts in; `resumed` still comes from the run as it was.
      progress = await serveRun(this.serving, m, run.state === 'paused' ? run : { ...run, state: 'running' })
    } finally {
      await counting // never rejects
    }
    // A run shorter than its count: the total landed after serve read the progress.
    return counting && progress.total === null ? getProgress(store, knex, m.name) : progress
  }

  private async runSnapshot(m: Migration): Promise<RunProgress> {
    const { knex } = this.config
    const evolve = (inner: Migration) => this.evolveShadow(inner)
    const workerId = newWorkerId()
    const ctx = {
      knex,
      store: this.store,
      dialect: this.dialect,
      events: this.events,
      by: this.by,
      workerId,
      signal: this.abort.signal,
      evolve,
    }
    // Served like a run by its workers, so that a cancel can tell when nobody is left to unwind it (snapshot/control.ts).
    const presence = await this.dialect.openPresence?.(knex, () => {})
    try {
      const deps = { knex, store: this.store, presence, heartbeatMs: this.options.heartbeatMs }
      return await whileAlive(deps, workerId, m.name, () => runSnapshot(ctx, m))
    } finally {
      await presence?.close()
    }
  }

  /** The copy is evolved by a Runner of its own: the same worker loop, but large batches and no throttle. */
  private async evolveShadow(inner: Migration): Promise<RunProgress> {
    const { knex, workers, batchSize } = this.config
    const runner = new Runner({ knex, workers, batchSize, migrations: [inner], events: this.events, by: this.by, ...SHADOW_PACE })
    const stop = () => runner.stop()
    this.abort.signal.addEventListener('abort', stop, { once: true })
    if (this.abort.signal.aborted) stop()
    try {
      const [result] = await runner.run()
      return result!
    } finally {
      this.abort.signal.removeEventListener('abort', stop)
    }
  }

  private migration(name: string): Migration {
    const m = this.config.migrations.find((x) => x.name === name)
    if (!m) throw usage('E_UNKNOWN_MIGRATION', `no migration named "${name}"`)
    return m
  }
}

/** Nobody else writes the copy: batches as long as a second, none of the live table's throttles. */
const SHADOW_PACE = { targetBatchMs: 1000, maxBatchSize: 100_000 } as const
