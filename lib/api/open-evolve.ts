import type { Knex } from 'knex'
import { connect } from '../config/connect.ts'
import { CLI_NAMES, LIBRARY_NAMES } from '../config/option-names.ts'
import { resolveConfig } from '../config/resolve-config.ts'
import type { RunOptions } from '../core/context.ts'
import type { Migration } from '../core/migration.ts'
import { usage } from '../errors.ts'
import { storeFor } from '../store/store.ts'
import { defaultActor } from './actor.ts'
import { Evolve } from './evolve.ts'
import { checkRunOptions } from './start-options.ts'

/** Open with a knex instance you already have (your app's); `close()` leaves it open. */
export interface OpenWithKnex {
  knex: Knex
  /** A migrations directory, or migrations built in code with `createMigration`. */
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

/**
 * Every option, the way of opening it belongs to, and what to do instead when it comes with the
 * other way (it would be ignored there: refused instead).
 */
const OPTIONS: Record<string, { with: 'knex' | 'url' | 'both'; instead: string }> = {
  knex: { with: 'knex', instead: 'pass your knex instance, or leave "knex" out to open by URL or config file' },
  migrations: { with: 'knex', instead: 'pass a migrations directory as "dir", or open with your knex: openEvolve({ knex, migrations })' },
  run: {
    with: 'knex',
    instead: 'put run options in the config file (evolve.config.ts), or pass them to run(): evolve.run(names, { batchSize: 100 })',
  },
  db: { with: 'url', instead: 'the knex is the connection: leave "db" out' },
  config: { with: 'url', instead: 'the knex is the connection: leave "config" out, and pass its run options as "run"' },
  dir: { with: 'url', instead: 'pass the migrations directory as "migrations": openEvolve({ knex, migrations: \'./migrations\' })' },
  cwd: { with: 'url', instead: 'pass "migrations" as an absolute path instead' },
  env: { with: 'url', instead: 'the knex is the connection: leave "env" out' },
  pool: { with: 'url', instead: 'the pool is the knex\'s own: leave "pool" out' },
  by: { with: 'both', instead: '' },
}

/** Refuses an unknown option, and one set for the other way of opening (`knex: undefined` too: a knex meant but missing must not open another database). */
function checkOptionKeys(options: object, withKnex: boolean): void {
  for (const [key, value] of Object.entries(options)) {
    const option = OPTIONS[key]
    if (!option) throw usage('E_CONFIG', `openEvolve: unknown option "${key}" (allowed: ${Object.keys(OPTIONS).join(', ')})`)
    if (option.with === 'both' || option.with === (withKnex ? 'knex' : 'url') || (value === undefined && key !== 'knex')) continue
    if (withKnex) throw usage('E_CONFIG', `openEvolve: "${key}" does not go with "knex" (it would be ignored): ${option.instead}`)
    if (key === 'knex') throw usage('E_CONFIG', `openEvolve: "knex" is undefined: ${option.instead}`)
    throw usage('E_CONFIG', `openEvolve: "${key}" needs "knex" (without one it would be ignored): ${option.instead}`)
  }
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
  /** Pool size and the like for the connection this object opens; over the config file's `pool`. */
  pool?: Knex.PoolConfig
  by?: string
  // Options of opening with a knex; without one they would be ignored: refused instead.
  migrations?: never
  run?: never
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
  return open(options, 'library')
}

/**
 * openEvolve for the CLI (and the terminal UI and `evolve serve` it starts): its messages name the
 * flags (`--db`), and the config file's `pool` bounds the pool the command asks for (`evolve run`
 * sizes it by its workers), where a library caller's `pool` is its own choice and wins.
 */
export async function openEvolveFromCli(options: OpenWithConfig): Promise<Evolve> {
  return open(options, 'cli')
}

async function open(options: OpenWithKnex | OpenWithConfig, caller: 'library' | 'cli'): Promise<Evolve> {
  if (typeof options !== 'object' || options === null)
    throw usage('E_CONFIG', `openEvolve: options must be an object, e.g. { knex, migrations } or { db, dir } (found ${String(options)})`)
  const withKnex = 'knex' in options && options.knex !== undefined
  checkOptionKeys(options, withKnex)
  if (withKnex) {
    const { knex, migrations } = options
    const runDefaults = options.run === undefined ? {} : checkRunOptions(options.run)
    if (Array.isArray(migrations)) checkMigrationList(migrations)
    else if (migrations !== undefined && typeof migrations !== 'string')
      throw usage(
        'E_CONFIG',
        `openEvolve: "migrations" must be a directory or a Migration[] (found ${migrations === null ? 'null' : typeof migrations === 'object' ? 'an object' : `a ${typeof migrations}`})`,
      )
    return new Evolve({
      knex,
      store: storeFor(knex),
      migrationsDir: typeof migrations === 'string' ? migrations : undefined,
      migrations: Array.isArray(migrations) ? migrations : undefined,
      runDefaults,
      by: options.by ?? defaultActor(),
      onClose: async () => {},
    })
  }
  const o = options as OpenWithConfig
  const { config, knex } = await connectByConfig(o, caller)
  return new Evolve({
    knex,
    store: storeFor(knex),
    migrationsDir: config.migrationsDir,
    noMigrationsDir: (caller === 'cli' ? CLI_NAMES : LIBRARY_NAMES).noMigrationsDir,
    runDefaults: config.run,
    by: o.by ?? defaultActor(),
    overriddenConnection: config.overriddenConnection,
    onClose: () => knex.destroy(),
  })
}

/** The database the options, the environment or the config file name, opened; messages name the caller's options. */
async function connectByConfig(o: OpenWithConfig, caller: 'library' | 'cli') {
  const names = caller === 'cli' ? CLI_NAMES : LIBRARY_NAMES
  const config = await resolveConfig({
    db: o.db,
    config: o.config,
    dir: o.dir,
    cwd: o.cwd ?? process.cwd(),
    env: o.env ?? process.env,
    names,
  })
  const pool = caller === 'cli' ? { ...o.pool, ...config.pool } : { ...config.pool, ...o.pool }
  return { config, ...(await connect(config, pool)) }
}

/** Each migration once, by a name: a second of the same name would be skipped yet reported done. */
function checkMigrationList(migrations: unknown[]): void {
  const seen = new Map<string, number>()
  migrations.forEach((m, i) => {
    const name = (m as Partial<Migration> | null)?.name
    if (typeof name !== 'string' || name === '')
      throw usage(
        'E_MIGRATION_INVALID',
        `openEvolve: migrations[${i}] has no name: build it with createMigration('<name>', defineMigration({ ... }))`,
      )
    if (seen.has(name))
      throw usage(
        'E_DUPLICATE_MIGRATION',
        `openEvolve: migrations[${i}]: migration "${name}" is also defined by migrations[${seen.get(name)}]; rename one`,
      )
    seen.set(name, i)
  })
}
