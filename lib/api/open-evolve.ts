import type { Knex } from 'knex'
import { connect } from '../config/connect.ts'
import { resolveConfig } from '../config/resolve-config.ts'
import type { RunOptions } from '../core/context.ts'
import type { Migration } from '../core/migration.ts'
import { usage } from '../errors.ts'
import { storeFor } from '../store/store.ts'
import { defaultActor } from './actor.ts'
import { Evolve } from './evolve.ts'

/** Open with a knex instance you already have (your app's); `close()` leaves it open. */
export interface OpenWithKnex {
  knex: Knex
  /** A migrations directory, or migrations built in code with `parseMigration`. */
  migrations?: string | Migration[]
  /** Run options (pacing, throttling) for runs started through this object. */
  run?: Partial<RunOptions>
  /** Who acts when a call does not say; default `user@host`. */
  by?: string
  // Options of opening by URL or config; with a knex they would be ignored: refused instead.
  db?: never
  config?: never
  dir?: never
  cwd?: never
  env?: never
  pool?: never
}

/** What OpenWithConfig takes and OpenWithKnex does not, with what to pass instead. */
const CONFIG_ONLY: Record<keyof OpenWithConfig, string> = {
  db: 'the knex is the connection: leave "db" out',
  config: 'the knex is the connection: leave "config" out, and pass its run options as "run"',
  dir: 'pass the migrations directory as "migrations": openEvolve({ knex, migrations: \'./migrations\' })',
  cwd: 'pass "migrations" as an absolute path instead',
  env: 'the knex is the connection: leave "env" out',
  pool: 'the pool is the knex\'s own: leave "pool" out',
  by: '',
}

/** Open the way the CLI does: --db, DATABASE_URL, evolve.config.*, knexfile. */
export interface OpenWithConfig {
  /** A database URL: `postgres://…` or `sqlite:<path>`. */
  db?: string
  /** A config file (default: evolve.config.{ts,mjs,js,json} in `cwd`). */
  config?: string
  /** The migrations directory (default: the config's, else ./migrations). */
  dir?: string
  cwd?: string
  env?: Record<string, string | undefined>
  /** Pool size and the like for the connection this object opens. */
  pool?: Knex.PoolConfig
  by?: string
}

/**
 * Opens the admin object that every front end uses: the CLI, the HTTP API, the terminal UI
 * and your own scripts.
 *
 * @example
 * ```ts
 * import { openEvolve } from 'evolvekit'
 * const evolve = await openEvolve({ db: 'sqlite:./app.db', dir: './migrations' })
 * console.log(await evolve.status())
 * const handle = await evolve.run()
 * await handle.done
 * await evolve.close()
 * ```
 */
export async function openEvolve(options: OpenWithKnex | OpenWithConfig = {}): Promise<Evolve> {
  if ('knex' in options && options.knex !== undefined) {
    const mixed = Object.keys(options).find(
      (k) => CONFIG_ONLY[k as keyof OpenWithConfig] && options[k as keyof typeof options] !== undefined,
    )
    if (mixed)
      throw usage(
        'E_CONFIG',
        `openEvolve: "${mixed}" does not go with "knex" (it would be ignored): ${CONFIG_ONLY[mixed as keyof OpenWithConfig]}`,
      )
    const { knex, migrations } = options
    return new Evolve({
      knex,
      store: storeFor(knex),
      migrationsDir: typeof migrations === 'string' ? migrations : undefined,
      migrations: Array.isArray(migrations) ? migrations : undefined,
      runDefaults: options.run ?? {},
      by: options.by ?? defaultActor(),
      onClose: async () => {},
    })
  }
  const o = options as OpenWithConfig
  const config = await resolveConfig({ db: o.db, config: o.config, dir: o.dir, cwd: o.cwd ?? process.cwd(), env: o.env ?? process.env })
  const { knex } = await connect(config, o.pool)
  return new Evolve({
    knex,
    store: storeFor(knex),
    migrationsDir: config.migrationsDir,
    runDefaults: config.run,
    by: o.by ?? defaultActor(),
    onClose: () => knex.destroy(),
  })
}
