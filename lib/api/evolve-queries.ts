// The admin object's queries (Evolve, evolve.ts): where it points, the migrations and their runs'
// status, plans, workers and failures. Reads only; runs and control are evolve-runs.ts' and evolve.ts'.
import type { Knex } from 'knex'
import { type PlanDescription, describePlan } from '../core/describe-plan.ts'
import { EvolveEmitter } from '../core/events.ts'
import { liveWorkers } from '../core/liveness.ts'
import { type Migration, inSnapshotMode } from '../core/migration.ts'
import { getProgress } from '../core/progress.ts'
import { snapshotPreflight } from '../core/snapshot/preflight.ts'
import { stripUndefined } from '../core/strip-undefined.ts'
import { reportedAppLatency } from '../core/throttle.ts'
import { validateMigrations } from '../core/validate.ts'
import { usage } from '../errors.ts'
import type { Store } from '../store/store.ts'
import type { EvolveParts, FailedObject, FailurePage, LiveWorker, RunStatus, StartOptions } from './evolve-types.ts'
import { loadWithin } from './bounded-load.ts'
import { pageFailures } from './failure-page.ts'
import { migrationNames, pickMigrations, unknownName } from './migration-names.ts'
import { ReadOnlyAdmin } from './read-only.ts'
import { assertFilesHere, fileIdentities } from './run-identity.ts'
import { checkPlanOptions, checkStartOptions } from './start-options.ts'

/** What every admin object reads: see Evolve. */
export class EvolveQueries {
  /** Every core event of runs in this process, plus `run:state` and `progress` seen by `watch()`. */
  readonly events = new EvolveEmitter()
  readonly knex: Knex
  /** The site's read-only switch: `status()`, `enable({ message, tables, for })`, `disable()`. */
  readonly readOnly: ReadOnlyAdmin
  protected readonly store: Store

  constructor(protected readonly parts: EvolveParts) {
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

  /**
   * `migrations()` for a command that must answer: each file's import is given `withinMs` first,
   * and one that has not settled by then (a top-level await that never does) is a usage error
   * naming it, where `migrations()` would wait for ever. Other load errors are `migrations()`'s own.
   * 30 s by default, not status's 5 s: a first load compiles every file at once, which a busy machine
   * can make slow, and a command must not fail for that; this only turns a hang into an error.
   */
  async migrationsWithin(withinMs = 30_000): Promise<Migration[]> {
    for (const [name, load] of await loadWithin(this.parts, migrationNames(this.parts), withinMs)) {
      if ('late' in load) throw usage('E_MIGRATION_INVALID', `migration ${name} ${load.error}: fix its file`)
    }
    return this.migrations() // every import has settled: its errors, if any, as migrations() gives them
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

  /** Throws E_UNKNOWN_MIGRATION, as `run` does, when `name` is neither a migration nor a run the database knows. */
  protected async mustExist(name: string): Promise<void> {
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
}
