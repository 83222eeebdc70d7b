// The admin object (Evolve): its queries (evolve-queries.ts) and runs (evolve-runs.ts), with the
// control of runs on every machine and the watching of them here.
import type { RunState } from '../store/runs.ts'
import { type ControlAction, controlRun } from './control.ts'
import type { Who } from './evolve-types.ts'
import { EvolveRuns } from './evolve-runs.ts'
import { type WatchOptions, watchRuns } from './watch.ts'

export type { EvolveParts, FailedObject, FailurePage, LiveWorker, RunStatus, StartOptions, Who } from './evolve-types.ts'
export type { RunNote } from './run-identity.ts'
export { AfterKeyError } from './key-shape.ts'
/** The snapshot run whose copy run `name` is (`<run>.shadow`), or undefined: for front ends that list runs. */
export { snapshotOfShadow } from '../core/snapshot/names.ts'

/**
 * The admin object every front end uses (the CLI, the HTTP API, the terminal UI, an app):
 * status, plans, runs, retries, pause/resume/cancel, failures and events. Get one with
 * `openEvolve`. Its queries are in evolve-queries.ts, its runs in evolve-runs.ts; control and
 * watching here.
 */
export class Evolve extends EvolveRuns {
  /** The stop functions of this object's watch() calls still watching: close() calls them. */
  private readonly watchers = new Set<() => Promise<void>>()

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
