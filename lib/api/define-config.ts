import type { Knex } from 'knex'
import type { PacingOptions } from '../core/pacing.ts'
import type { ThrottleOptions } from '../core/throttle.ts'

/**
 * The knex client names evolvekit runs on: PostgreSQL through `pg` (knex's aliases `postgres`,
 * `postgresql` too) and SQLite through `better-sqlite3` (knex's `sqlite3` driver is not supported).
 * The same list as the dialects' (lib/dialects/for-knex.ts), which the config file is checked against.
 */
export type EvolveClient = 'pg' | 'postgres' | 'postgresql' | 'better-sqlite3'

/** Where the database is, plus how runs pace and throttle themselves (see the README). */
export interface EvolveConfig extends ThrottleOptions, Partial<PacingOptions> {
  /** `pg` or `better-sqlite3` (knex client names). Leave out with `connection` when `--db` or DATABASE_URL always names the database. */
  client?: EvolveClient
  /** A knex connection: a URL string for PostgreSQL, `{ filename }` for SQLite. */
  connection?: Knex.Config['connection']
  /** PostgreSQL only: the size of knex's pool for this database (docs/configuration.md, "Connection pool"). */
  pool?: { min?: number; max?: number }
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
