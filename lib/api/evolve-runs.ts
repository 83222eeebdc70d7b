// The admin object's runs (Evolve, evolve.ts): starting and retrying them in this process, queueing
// a retry for other processes, and a snapshot run's revert and cleanup.
import { enqueueFailures, notRunYet, nothingToRetry } from '../core/enqueue-failures.ts'
import { recordDefinitionOf, storingDefinitions } from '../core/identity.ts'
import type { Migration } from '../core/migration.ts'
import { Runner } from '../core/runner.ts'
import { type RevertResult, cleanupSnapshot, revertSnapshot } from '../core/snapshot/revert.ts'
import { stripUndefined } from '../core/strip-undefined.ts'
import { usage } from '../errors.ts'
import type { RunState } from '../store/runs.ts'
import { EvolveQueries } from './evolve-queries.ts'
import type { StartOptions, Who } from './evolve-types.ts'
import { NO_MIGRATIONS } from './migration-names.ts'
import { RunHandle } from './run-handle.ts'
import { type RunNote, checkAllowRerun, assertFilesHere, identityNotes } from './run-identity.ts'
import { checkStartOptions } from './start-options.ts'

/** The queries, and what starts runs: see Evolve. */
export class EvolveRuns extends EvolveQueries {
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
}
