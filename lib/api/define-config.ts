import type { Knex } from 'knex'
import type { PacingOptions } from '../core/pacing.ts'
import type { ThrottleOptions } from '../core/throttle.ts'

/** Where the database is, plus how runs pace and throttle themselves (see the README). */
export interface EvolveConfig extends ThrottleOptions, Partial<PacingOptions> {
  /** `pg` or `better-sqlite3` (knex client names). Leave out with `connection` when `--db` or DATABASE_URL always names the database. */
  client?: string
  /** A knex connection: a URL string for PostgreSQL, `{ filename }` for SQLite. */
  connection?: Knex.Config['connection']
  migrations?: {
    /** Default `./migrations`, relative to the config file. */
    directory?: string
  }
}

/**
 * Declares `evolve.config.ts`.
 *
 * @example
 * ```ts
 * import { defineConfig } from 'evolvekit'
 * export default defineConfig({ client: 'better-sqlite3', connection: { filename: './app.db' } })
 * ```
 */
export function defineConfig(config: EvolveConfig): EvolveConfig {
  return config
}
