import { existsSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import type { Knex } from 'knex'
import { usage } from '../errors.ts'
import type { RunOptions } from '../core/context.ts'
import { type ConfigFile, parseConfig, poolProblem } from './config-schema.ts'
import { defaultExport, importUserModule, importUserNamespace } from './import-module.ts'
import { CLI_NAMES, type OptionNames } from './option-names.ts'
import { parseDatabaseUrl } from './parse-url.ts'

export interface ConfigInput {
  db?: string
  config?: string
  dir?: string
  cwd: string
  env: Record<string, string | undefined>
  /** How messages name the options (default the CLI's flags). */
  names?: OptionNames
}

export interface ResolvedConfig {
  client: string
  connection: Knex.Config['connection']
  migrationsDir: string
  /** Where the database setting came from, for error messages. */
  source: string
  /** Pacing and throttling from the config file. */
  run: Partial<RunOptions>
  /** The config file's knex pool, if it sets one (checked against the client already). */
  pool?: ConfigFile['pool']
  /** The config file whose `connection` DATABASE_URL took the place of (said on the CLI: it surprised users). */
  overriddenConnection?: string
}

export const CONFIG_FILES = ['evolve.config.ts', 'evolve.config.mjs', 'evolve.config.js', 'evolve.config.json']
const KNEXFILES = ['knexfile.ts', 'knexfile.mjs', 'knexfile.js', 'knexfile.cjs']

function runOptions(config: ConfigFile): Partial<RunOptions> {
  const { client: _c, connection: _n, migrations: _m, pool: _p, ...run } = config
  return run
}

/**
 * The config file's pool, refused if its client would not keep it. For a database named by `--db`
 * or DATABASE_URL instead (`overridden`), a pool that database would not keep is the file's own
 * database's, and left out: `--db sqlite:…` beside a PostgreSQL config file must still work.
 */
function poolOf(
  config: ConfigFile | undefined,
  client: string,
  configFile: string | undefined,
  overridden = false,
): { pool?: ConfigFile['pool'] } {
  if (!config?.pool) return {}
  const problem = poolProblem(client, config.pool)
  if (problem && overridden) return {}
  if (problem) throw usage('E_CONFIG', `${configFile}: ${problem}`)
  return { pool: config.pool }
}

/**
 * Where the database and migrations are: `--db`, else DATABASE_URL, else
 * evolve.config.*, else an existing knexfile. The first that is set wins. A config file
 * found next to a `--db` or DATABASE_URL still supplies the migrations directory and the
 * run options: a throttle hook must not vanish because the URL came from the environment.
 */
export async function resolveConfig(input: ConfigInput): Promise<ResolvedConfig> {
  const names = input.names ?? CLI_NAMES
  const urlSource = input.db
    ? { url: input.db, source: names.db }
    : input.env.DATABASE_URL
      ? { url: input.env.DATABASE_URL, source: 'DATABASE_URL' }
      : undefined
  const { configFile, config, base, migrationsDir } = await readConfigFile(input, !urlSource)
  const run = config ? runOptions(config) : {}
  if (urlSource) {
    const parsed = parseDatabaseUrl(urlSource.url, input.cwd, urlSource.source)
    // --db is a choice made on the command line; an exported DATABASE_URL may be left over from
    // elsewhere: said, unless the file names the same database (`connection: process.env.DATABASE_URL ?? …`).
    const fileConnection = config?.connection === undefined ? undefined : relativeFilename(config.connection, base)
    const same =
      fileConnection === urlSource.url ||
      (config?.client === parsed.client && JSON.stringify(fileConnection) === JSON.stringify(parsed.connection))
    const overridden = urlSource.source === 'DATABASE_URL' && fileConnection !== undefined && !same ? configFile : undefined
    return {
      ...parsed,
      migrationsDir,
      source: urlSource.source,
      run,
      ...poolOf(config, parsed.client, configFile, true),
      ...(overridden ? { overriddenConnection: overridden } : {}),
    }
  }
  if (config) {
    const client = config.client!
    const connection = relativeFilename(config.connection, base)
    return { client, connection, migrationsDir, source: configFile!, run, ...poolOf(config, client, configFile) }
  }
  const knexfile = find(input.cwd, KNEXFILES)
  if (knexfile) {
    const exported = (await importUserModule(knexfile, 'knexfile')) as Record<string, unknown> | undefined
    const environment = input.env.NODE_ENV ?? 'development'
    const picked = exported && 'client' in exported ? exported : exported?.[environment]
    if (!picked)
      throw usage('E_CONFIG', `${knexfile}: no "client" and no "${environment}" environment: set NODE_ENV or add a top-level config`)
    const config = parseConfig(
      knexfile,
      { client: (picked as { client?: unknown }).client, connection: (picked as { connection?: unknown }).connection },
      true,
      names,
    )
    return {
      client: config.client!,
      connection: relativeFilename(config.connection, dirname(knexfile)),
      migrationsDir,
      source: knexfile,
      run: {},
    }
  }
  throw usage('E_NO_DATABASE', names.noDatabase)
}

/** Where the migrations are (`evolve create` needs no database to know it). */
export async function resolveMigrationsDir(input: ConfigInput): Promise<string> {
  return (await readConfigFile(input, false)).migrationsDir
}

/** The config file named by --config or found in cwd, if any, and the migrations directory it implies. */
async function readConfigFile(input: ConfigInput, needsConnection: boolean) {
  const configFile = input.config ? resolve(input.cwd, input.config) : find(input.cwd, CONFIG_FILES)
  if (input.config && !existsSync(configFile!)) throw usage('E_CONFIG', `config file ${input.config} does not exist`)
  const config = configFile ? await readConfig(configFile, needsConnection, input.names ?? CLI_NAMES) : undefined
  const base = configFile ? dirname(configFile) : input.cwd
  // --dir is relative to where evolve runs; a config file's directory (default ./migrations) to the file.
  const migrationsDir =
    input.dir || !config ? resolve(input.cwd, input.dir ?? 'migrations') : resolve(base, config.migrations?.directory ?? 'migrations')
  return { configFile, config, base, migrationsDir }
}

/** A config file's default export, validated; one without a default export is told how to write one. */
async function readConfig(file: string, needsConnection: boolean, names: OptionNames): Promise<ConfigFile> {
  const mod = await importUserNamespace(file, 'config file')
  return parseConfig(file, defaultExport(mod), needsConnection, names, mod)
}

function find(cwd: string, names: string[]): string | undefined {
  return names.map((n) => resolve(cwd, n)).find((f) => existsSync(f))
}

/** SQLite filenames in a config file are relative to the file, not to wherever evolve runs. */
function relativeFilename(connection: Knex.Config['connection'], base: string): Knex.Config['connection'] {
  if (connection && typeof connection === 'object' && 'filename' in connection && typeof connection.filename === 'string') {
    return { ...connection, filename: resolve(base, connection.filename) }
  }
  return connection
}
