import { existsSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import type { Knex } from 'knex'
import { z } from 'zod'
import { CONFIG_RUN_OPTIONS, batchBoundsProblem } from './run-options-schema.ts'
import { dialectForClient } from '../dialects/for-knex.ts'
import { didYouMean, usage } from '../errors.ts'
import type { RunOptions } from '../core/context.ts'
import { importUserModule } from './import-module.ts'
import { parseDatabaseUrl } from './parse-url.ts'

export interface ConfigInput {
  db?: string
  config?: string
  dir?: string
  cwd: string
  env: Record<string, string | undefined>
}

export interface ResolvedConfig {
  client: string
  connection: Knex.Config['connection']
  migrationsDir: string
  /** Where the database setting came from, for error messages. */
  source: string
  /** Pacing and throttling from the config file. */
  run: Partial<RunOptions>
  /** The config file whose `connection` DATABASE_URL took the place of (said on the CLI: it surprised users). */
  overriddenConnection?: string
}

export const CONFIG_FILES = ['evolve.config.ts', 'evolve.config.mjs', 'evolve.config.js', 'evolve.config.json']
const KNEXFILES = ['knexfile.ts', 'knexfile.mjs', 'knexfile.js', 'knexfile.cjs']

const configSchema = z
  .object({
    // Optional here: --db or DATABASE_URL may name the database instead (see parseConfig).
    client: z.string().optional(),
    connection: z.union([z.string(), z.record(z.string(), z.unknown())]).optional(),
    migrations: z.object({ directory: z.string().optional() }).strict().optional(),
    ...CONFIG_RUN_OPTIONS,
  })
  .strict()

function runOptions(config: z.infer<typeof configSchema>): Partial<RunOptions> {
  const { client: _c, connection: _n, migrations: _m, ...run } = config
  return run
}

/**
 * Where the database and migrations are: `--db`, else DATABASE_URL, else
 * evolve.config.*, else an existing knexfile. The first that is set wins. A config file
 * found next to a `--db` or DATABASE_URL still supplies the migrations directory and the
 * run options: a throttle hook must not vanish because the URL came from the environment.
 */
export async function resolveConfig(input: ConfigInput): Promise<ResolvedConfig> {
  const urlSource = input.db
    ? { url: input.db, source: '--db' }
    : input.env.DATABASE_URL
      ? { url: input.env.DATABASE_URL, source: 'DATABASE_URL' }
      : undefined
  const { configFile, config, base, migrationsDir } = await readConfigFile(input, !urlSource)
  const run = config ? runOptions(config) : {}
  if (urlSource) {
    // --db is a choice made on the command line; an exported DATABASE_URL may be left over from elsewhere.
    const overridden = urlSource.source === 'DATABASE_URL' && config?.connection !== undefined ? configFile : undefined
    const parsed = parseDatabaseUrl(urlSource.url, input.cwd, urlSource.source)
    return { ...parsed, migrationsDir, source: urlSource.source, run, ...(overridden ? { overriddenConnection: overridden } : {}) }
  }
  if (config) {
    return { client: config.client!, connection: relativeFilename(config.connection, base), migrationsDir, source: configFile!, run }
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
    )
    return {
      client: config.client!,
      connection: relativeFilename(config.connection, dirname(knexfile)),
      migrationsDir,
      source: knexfile,
      run: {},
    }
  }
  throw usage(
    'E_NO_DATABASE',
    'no database configured: pass --db postgres://… or --db sqlite:./app.db, set DATABASE_URL, or create evolve.config.ts with `evolve init`',
  )
}

/** Where the migrations are (`evolve create` needs no database to know it). */
export async function resolveMigrationsDir(input: ConfigInput): Promise<string> {
  return (await readConfigFile(input, false)).migrationsDir
}

/** The config file named by --config or found in cwd, if any, and the migrations directory it implies. */
async function readConfigFile(input: ConfigInput, needsConnection: boolean) {
  const configFile = input.config ? resolve(input.cwd, input.config) : find(input.cwd, CONFIG_FILES)
  if (input.config && !existsSync(configFile!)) throw usage('E_CONFIG', `config file ${input.config} does not exist`)
  const config = configFile ? parseConfig(configFile, await importUserModule(configFile, 'config file'), needsConnection) : undefined
  const base = configFile ? dirname(configFile) : input.cwd
  // --dir is relative to where evolve runs; a config file's directory (default ./migrations) to the file.
  const migrationsDir =
    input.dir || !config ? resolve(input.cwd, input.dir ?? 'migrations') : resolve(base, config.migrations?.directory ?? 'migrations')
  return { configFile, config, base, migrationsDir }
}

/**
 * What a misspelt config field most likely meant (`batchsize`, `maxbatchsize`…), or ''. A batch size
 * itself is no config field: the file bounds it, and the migration file or --batch-size fixes it.
 */
function unknownFieldHint(key: string, topLevel: boolean): string {
  const allowed = topLevel ? Object.keys(configSchema.shape) : ['directory']
  if (topLevel && key.toLowerCase() === 'batchsize')
    return ': a config file bounds the batch size (minBatchSize, maxBatchSize); fix it with batchSize in the migration file, or --batch-size'
  return didYouMean(key, allowed)
}

/** `needsConnection`: the file names the database (nothing else did), so client and connection must be there. */
function parseConfig(file: string, value: unknown, needsConnection: boolean): z.infer<typeof configSchema> {
  const result = configSchema.safeParse(value)
  if (!result.success) {
    const issue = result.error.issues[0]!
    if (issue.code === 'unrecognized_keys') {
      const key = issue.keys[0]!
      const field = [...issue.path, key].join('.')
      const expected = issue.path.length === 0 ? ' (expected defineConfig({ client, connection, migrations }))' : ''
      throw usage('E_CONFIG', `${file}: unknown field "${field}"${unknownFieldHint(key, issue.path.length === 0) || expected}`)
    }
    throw usage('E_CONFIG', `${file}: field "${issue.path.join('.')}": ${issue.message}`)
  }
  const { client, connection } = result.data
  const bounds = batchBoundsProblem(result.data)
  if (bounds) throw usage('E_CONFIG', `${file}: ${bounds}`)
  if (needsConnection && (client === undefined || connection === undefined)) {
    const missing = client === undefined ? 'client' : 'connection'
    throw usage('E_CONFIG', `${file}: field "${missing}" is missing: set it, or name the database with --db or DATABASE_URL`)
  }
  if (client !== undefined && !dialectForClient(client)) {
    throw usage('E_CONFIG', `${file}: client "${client}" is not supported: use "pg" or "better-sqlite3"`)
  }
  return result.data
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
