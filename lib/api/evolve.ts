import type { Knex } from 'knex'
import { type PlanDescription, describePlan } from '../core/describe-plan.ts'
import { enqueueFailures, notRunYet, nothingToRetry } from '../core/enqueue-failures.ts'
import { EvolveEmitter } from '../core/events.ts'
import { liveWorkers } from '../core/liveness.ts'
import { type Migration, inSnapshotMode } from '../core/migration.ts'
import { getProgress } from '../core/progress.ts'
import { Runner } from '../core/runner.ts'
import { stripUndefined } from '../core/strip-undefined.ts'
import { snapshotPreflight } from '../core/snapshot/preflight.ts'
import { type RevertResult, cleanupSnapshot, revertSnapshot } from '../core/snapshot/revert.ts'
import { reportedAppLatency } from '../core/throttle.ts'
import { validateMigrations } from '../core/validate.ts'
import { usage } from '../errors.ts'
import type { RunState } from '../store/runs.ts'
import type { Store } from '../store/store.ts'
import { type ControlAction, controlRun } from './control.ts'
import { ReadOnlyAdmin } from './read-only.ts'
import { RunHandle } from './run-handle.ts'
import { checkPlanOptions, checkStartOptions } from './start-options.ts'
import { type WatchOptions, watchRuns } from './watch.ts'
import type { EvolveParts, FailedObject, FailurePage, LiveWorker, RunStatus, StartOptions, Who } from './evolve-types.ts'
import { pageFailures } from './failure-page.ts'
import { NO_MIGRATIONS, migrationNames, pickMigrations, unknownName } from './migration-names.ts'
import { type RunNote, assertFilesHere, checkAllowRerun, fileIdentities, identityNotes } from './run-identity.ts'
import { recordDefinitionOf, storingDefinitions } from '../core/identity.ts'

export type { EvolveParts, FailedObject, FailurePage, LiveWorker, RunStatus, StartOptions, Who } from './evolve-types.ts'
export type { RunNote } from './run-identity.ts'
export { AfterKeyError } from './key-shape.ts'
/** The snapshot run whose copy run `name` is (`<run>.shadow`), or undefined: for front ends that list runs. */
export { snapshotOfShadow } from '../core/snapshot/names.ts'

/**
 * The admin object every front end uses (the CLI, the HTTP API, the terminal UI, an app):
 * status, plans, runs, retries, pause/resume/cancel, failures and events. Get one with
 * `openEvolve`.
 */
export class Evolve {
  /** Every core event of runs in this process, plus `run:state` and `progress` seen by `watch()`. */
  readonly events = new EvolveEmitter()
  readonly knex: Knex
  /** The site's read-only switch: `status()`, `enable({ message, tables, for })`, `disable()`. */
  readonly readOnly: ReadOnlyAdmin
  private readonly store: Store
  /** The stop functions of this object's watch() calls still watching: close() calls them. */
  private readonly watchers = new Set<() => Promise<void>>()

  constructor(private readonly parts: EvolveParts) {
    this.knex = parts.knex
    this.store = parts.store
    this.readOnly = new ReadOnlyAdmin(parts.store, parts.knex, this.events, parts.by)
  }

  /** `postgres` or `sqlite`. */
  get dialect(): 'postgres' | 'sqlite' {
    return this.store.dialect.name
  }

  /** Where this object points, for headers and messages, never with a password. */
  get target(): string {
    return this.store.dialect.describeTarget(this.knex.client.config.connection).target
  }

  /** The config file whose `connection` an exported DATABASE_URL overrode, if one did. */
  get overriddenConnection(): string | undefined {
    return this.parts.overriddenConnection
  }

  get migrationsDir(): string | undefined {
    return this.parts.migrationsDir
  }

  /** Loads the migrations (all, or those named) and checks each definition; unknown names are an error. The database checks come with plan and run. */
  migrations(names: string[] = []): Promise<Migration[]> {
    return pickMigrations(this.parts, names)
  }

  /** Names of every migration (files, without importing them) and every run the database knows. */
  async names(): Promise<string[]> {
    const runs = (await this.store.has(this.knex)) ? (await this.store.runs.list(this.knex)).map((r) => r.name) : []
    return [...new Set([...migrationNames(this.parts), ...runs])].sort()
  }

  /** Every migration and its run, in name order. Reads only. */
  async status(): Promise<RunStatus[]> {
    const names = await this.names()
    const files = await fileIdentities(this.parts, names)
    // One run at a time: in parallel, many runs would queue more reads than the pool has connections.
    const all: RunStatus[] = []
    for (const name of names) all.push({ ...(await getProgress(this.store, this.knex, name)), ...files.get(name)! })
    return all
  }

  /**
   * One run's progress (a `pending` entry for a migration that has not run). A name that is
   * neither a migration nor a run is E_UNKNOWN_MIGRATION, as for pause or cancel: a script
   * polling a misspelt name would otherwise wait on a made-up pending run forever.
   */
  async progress(name: string): Promise<RunStatus> {
    await this.mustExist(name)
    const files = await fileIdentities(this.parts, [name])
    return { ...(await getProgress(this.store, this.knex, name)), ...files.get(name)! }
  }

  /**
   * The workers serving a run now, on every machine: where they run (host, pid) and how
   * long ago they last beat (by the database's clock).
   *
   * @example
   * ```ts
   * for (const w of await evolve.workers('20260101_lowercase-emails')) console.log(w.host, w.pid)
   * ```
   */
  async workers(name: string): Promise<LiveWorker[]> {
    if (!(await this.store.has(this.knex))) return []
    return (await liveWorkers(this.store, this.knex, name)).map((w) => ({ id: w.id, host: w.host, pid: w.pid, heartbeatAgeMs: w.ageMs }))
  }

  /** True when `name` is a migration file or a run the database knows. */
  async exists(name: string): Promise<boolean> {
    return (await this.names()).includes(name)
  }

  /** What `run` would do next, without doing any of it (a dry run). Bad options are usage errors (E_CONFIG). */
  async plan(names: string[] = [], options: { batchSize?: number; mode?: 'online' | 'snapshot' } = {}): Promise<PlanDescription[]> {
    const opts = checkPlanOptions(options)
    await assertFilesHere(this.parts, names)
    const migrations = await this.migrations(names)
    await validateMigrations(this.knex, this.store.dialect, migrations)
    const files = await fileIdentities(
      this.parts,
      migrations.map((m) => m.name),
    )
    const plans: PlanDescription[] = []
    for (const m of migrations) {
      const { fileChanged, renamedFrom } = files.get(m.name)!
      const plan = { ...(await describePlan(this.knex, this.store.dialect, m, opts.batchSize)), fileChanged, renamedFrom }
      const snapshot = inSnapshotMode(m, opts.mode)
      plans.push(
        snapshot && plan.state !== 'done' ? { ...plan, snapshot: await snapshotPreflight(this.knex, this.store.dialect, m) } : plan,
      )
    }
    return plans
  }

  /**
   * Swaps a snapshot run's backup back in: the table holds exactly what it held before the
   * swap, and the migration is pending again. Refused when the table was written since the
   * swap unless `force` (the result's `lost` says what was thrown away).
   */
  revert(name: string, opts: { force?: boolean } = {}): Promise<RevertResult> {
    return revertSnapshot(this.store, this.knex, name, opts)
  }

  /** Drops what a snapshot run kept: the backup (no revert after this), or the evolved table after a revert. */
  cleanup(name: string): Promise<{ dropped: string }> {
    return cleanupSnapshot(this.store, this.knex, name)
  }

  /**
   * Starts running the named migrations (default: all, in name order) in this process and
   * returns at once: the handle's `done` settles with each run's progress, `stop()` asks the
   * workers to finish their batch and leave. Events arrive on `evolve.events`. Bad options
   * are usage errors (E_CONFIG) thrown before anything changes.
   */
  async run(names: string[] = [], options: StartOptions = {}): Promise<RunHandle> {
    const { allowRerun, ...rest } = options
    const opts = checkStartOptions(rest)
    if (names.length === 0 && !this.parts.migrations && !this.parts.migrationsDir)
      throw usage('E_NO_MIGRATIONS_DIR', `nothing to run: ${NO_MIGRATIONS}`)
    const { migrations } = await this.checked(names, { allowRerun })
    const runner = this.runner(migrations, opts)
    return new RunHandle(runner, () => storingDefinitions(this.store, this.knex, migrations, () => runner.run()))
  }

  /**
   * What `run` would say of the migrations' files before it starts, reading only (the CLI prints
   * it): the code of a run changed since it started, a file looks like another renamed (and
   * `allowRerun` runs it anyway), runs left behind with no file here. Throws what `run` refuses
   * (E_MIGRATION_CHANGED, E_MIGRATION_RENAMED, a name with no file: E_UNKNOWN_MIGRATION).
   */
  async runNotes(names: string[] = [], options: { allowRerun?: boolean; retry?: boolean } = {}): Promise<RunNote[]> {
    return (await this.checked(names, options)).notes
  }

  /** The migrations run (or retry) serves, and what runNotes says of them; throws what they refuse. */
  private async checked(names: string[], o: { allowRerun?: unknown; retry?: boolean }) {
    await assertFilesHere(this.parts, names)
    const migrations = await this.migrations(names)
    const allowRerun = checkAllowRerun(o.allowRerun)
    const notes = await identityNotes(this.parts, migrations, { everything: names.length === 0, allowRerun, retry: o.retry === true })
    return { migrations, notes }
  }

  /** Re-drives only a run's failed objects, in this process. */
  async retry(name: string, options: StartOptions = {}): Promise<RunHandle> {
    const opts = checkStartOptions(options)
    const { migrations } = await this.checked([name], { retry: true })
    const runner = this.runner(migrations, opts)
    return new RunHandle(runner, async () => {
      // Fixing the migration, then retrying, is the way on after failures: stored as run's open does.
      await recordDefinitionOf(this.store, this.knex, migrations[0]!)
      return [await runner.retry(name)]
    })
  }

  /**
   * Marks a run's failed objects for the runners without serving them here: queues retry
   * batches and moves the run to `running` (the HTTP API uses this; it runs no batches).
   * Any `evolve run` serving or joining the run picks them up. Returns how many were queued.
   */
  async queueRetry(name: string, who: Who = {}): Promise<{ queued: number; state: RunState }> {
    const run = (await this.store.has(this.knex)) ? await this.store.runs.get(this.knex, name) : undefined
    if (!run) {
      await this.mustExist(name)
      throw notRunYet(name)
    }
    if (run.state === 'done') throw nothingToRetry(name)
    // A name with no file here is E_UNKNOWN_MIGRATION as for any other admin call (no directory is named over HTTP).
    const [m] = await this.migrations([name])
    await identityNotes(this.parts, [m!], { everything: false, allowRerun: false, retry: true })
    const batchSize = this.parts.runDefaults.batchSize ?? m!.batchSize
    const queued = await enqueueFailures(this.store, this.events, this.knex, m!, batchSize, who.by ?? this.parts.by)
    await recordDefinitionOf(this.store, this.knex, m!)
    return { queued, state: 'running' }
  }

  private runner(migrations: Migration[], opts: StartOptions): Runner {
    return new Runner({ ...this.parts.runDefaults, ...stripUndefined(opts), knex: this.knex, migrations, events: this.events })
  }

  /** Pauses a run on every machine; workers finish their batch and wait. */
  pause(name: string, who: Who = {}) {
    return this.control(name, 'pause', who)
  }

  /** Lets a paused or cancelled run go on (a cancelled one needs a runner: `run`). */
  resume(name: string, who: Who = {}) {
    return this.control(name, 'resume', who)
  }

  /** Stops a run on every machine; it stays resumable. */
  cancel(name: string, who: Who = {}) {
    return this.control(name, 'cancel', who)
  }

  private async control(name: string, action: ControlAction, who: Who): Promise<RunState> {
    try {
      return await controlRun(this.store, this.events, this.knex, name, action, { by: who.by ?? this.parts.by, reason: who.reason })
    } catch (err) {
      // No run: a migration that has not started, or a name that is neither a migration nor a run.
      if ((err as { code?: string }).code === 'E_UNKNOWN_RUN') await this.mustExist(name)
      throw err
    }
  }

  /** Throws E_UNKNOWN_MIGRATION, as `run` does, when `name` is neither a migration nor a run the database knows. */
  private async mustExist(name: string): Promise<void> {
    const known = await this.names()
    if (!known.includes(name)) throw unknownName(name, known, this.parts.migrationsDir)
  }

  /**
   * One page of a run's failed objects, in key order: pass the last key of a page as
   * `after` to get the next. Unknown migrations and runs that never ran are usage errors, and
   * so are a `limit` that is not a positive integer and an `after` that is not a key (E_CONFIG).
   */
  async failures(name: string, options: { limit?: number; after?: unknown } = {}): Promise<FailedObject[]> {
    return (await this.failurePage(name, options)).failures
  }

  /**
   * `failures`, with the run's count of failed objects (`total`, every page together) and the
   * `after` of the next page (`next`: the last key of this one, or null when none follow). An
   * `after` not shaped like the run's keys (a composite key's array of one part per key column,
   * or a single value) is refused (E_CONFIG), as is one that is no key at all.
   */
  failurePage(name: string, options: { limit?: number; after?: unknown } = {}): Promise<FailurePage> {
    return pageFailures(this.store, this.knex, name, options, (n) => this.mustExist(n))
  }

  /** The app latency last reported with `reportAppLatency` (within 10 s), or null. */
  reportedAppLatency(): Promise<number | null> {
    return reportedAppLatency(this.knex, this.store)
  }

  /** True when a run with these options has an app latency limit but nothing to measure it by. */
  async latencyUnwatched(opts: StartOptions = {}): Promise<boolean> {
    const o = { ...this.parts.runDefaults, ...stripUndefined(checkStartOptions(opts)) }
    return o.maxAppLatencyMs !== undefined && !o.latencyProbe && (await this.reportedAppLatency()) === null
  }

  /**
   * Follows every run from the database, whoever drives it: emits `run:state` for changes
   * made by other processes and a `progress` tick per active run (at most one a second by
   * default). Returns a function that stops watching; its promise settles once a read in
   * flight is done. `close()` stops every watch of this object first.
   */
  watch(opts: WatchOptions = {}): () => Promise<void> {
    const stop = watchRuns(this, opts)
    const unwatch = () => {
      this.watchers.delete(unwatch)
      return stop()
    }
    this.watchers.add(unwatch)
    return unwatch
  }

  /** Stops every `watch()` of this object (waiting for a read in flight), then closes the database connection, if this object opened it. */
  async close(): Promise<void> {
    await Promise.all([...this.watchers].map((unwatch) => unwatch()))
    return this.parts.onClose()
  }
}
