// The shapes the admin object (evolve.ts) takes and gives, apart from the class itself.
import type { Knex } from 'knex'
import type { RunOptions } from '../core/context.ts'
import type { Migration } from '../core/migration.ts'
import type { RunProgress } from '../core/progress.ts'
import type { Store } from '../store/store.ts'

// With the admin object's types come its events' (lib/api/events.ts types `evolve.events` by name).
export type { EvolveEventName, EvolveListener } from './events.ts'

/** One failed object, as `evolve failures` and the API show it. */
export interface FailedObject {
  key: unknown
  error: string
  attempts: number
  createdAt: string
  updatedAt: string
}

/** One page of a run's failed objects: `evolve.failurePage`. */
export interface FailurePage {
  failures: FailedObject[]
  /** Every failed object of the run, on this page or any other. */
  total: number
  /** The `after` of the next page (this page's last key), or null when no more follow. */
  next: unknown
}

/** Options of one `run` or `retry`: the config file's run options, overridden by these. */
export interface StartOptions extends Partial<RunOptions> {
  /** Workers in this process. Default 1. */
  workers?: number
  /** `'snapshot'`: every named migration in snapshot mode (copy, evolve the copy, swap); `'online'`: every one in place; default: as each file says. */
  mode?: 'online' | 'snapshot'
  /**
   * `run` only: run a migration even though it looks like a started run's renamed (the same table
   * and code, the old name's file gone), which evolves those rows again. Default false: refused
   * (E_MIGRATION_RENAMED).
   */
  allowRerun?: boolean
}

export interface EvolveParts {
  knex: Knex
  store: Store
  /** Where migration files live, when there is a directory. */
  migrationsDir?: string
  /** Migrations built in code, used instead of (or with no) directory. */
  migrations?: Migration[]
  /** What a missing migrations directory's message tells the caller to do, in its own option names. */
  noMigrationsDir?: string
  /** Run options from the config file. */
  runDefaults: Partial<RunOptions>
  /** Who acts when a call does not say: `user@host`. */
  by: string
  /** The config file whose `connection` DATABASE_URL overrode, when it did (openEvolve by config). */
  overriddenConnection?: string
  /** Called by close(): destroys the knex instance this object opened, if it did. */
  onClose: () => Promise<void>
}

/** One worker serving a run, as `evolve.workers(name)` lists it. */
export interface LiveWorker {
  id: string
  host: string
  pid: number
  /** How long ago its last heartbeat was, by the database's clock. */
  heartbeatAgeMs: number
}

/** Who asks for a change, and why: stored with the run and shown by `status`. */
export interface Who {
  by?: string
  reason?: string
}

/** A run as `status()` and `progress(name)` report it: its progress, and whether its file loads. */
export interface RunStatus extends RunProgress {
  /**
   * Why the migration's file, loaded to compare it with its run (a started run's file), did not
   * load: `does not load: <its error>`, or that its import has not settled in 5 s (a top-level
   * await that hangs); null when it loaded or was not loaded. status answers for the other runs.
   */
  fileError: string | null
}
