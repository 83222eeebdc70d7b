// What an evolve.config.* may hold, and the one-line messages for what it must not: a file that
// is not a config at all (no default export, a knexfile's environment map), or a field that is
// misspelt or of the wrong type.
import { z } from 'zod'
import { CONFIG_RUN_OPTIONS, batchBoundsProblem } from './run-options-schema.ts'
import { dialectForClient } from '../dialects/for-knex.ts'
import { didYouMean, nearestName, shown, usage } from '../errors.ts'
import { namedExports } from './import-module.ts'
import type { OptionNames } from './option-names.ts'

const COUNT = { message: 'must be a whole number, 0 or more' }
const POSITIVE = { message: 'must be a positive integer' }
const DIRECTORY = "must be { directory: './migrations' }"
const POOL = 'must be { min, max }, e.g. { min: 0, max: 10 }'

export const configSchema = z
  .object({
    // Optional here: --db or DATABASE_URL may name the database instead (see parseConfig).
    client: z.string().optional(),
    connection: z.union([z.string(), z.record(z.string(), z.unknown())]).optional(),
    migrations: z.object({ directory: z.string().optional() }, { message: DIRECTORY }).strict().optional(),
    // The knex pool of the connections evolvekit opens from this file; the rest of knex's pool settings are evolvekit's.
    pool: z
      .object(
        {
          min: z.number(COUNT).int(COUNT).min(0, COUNT).optional(),
          max: z.number(POSITIVE).int(POSITIVE).positive(POSITIVE).optional(),
        },
        { message: POOL },
      )
      .strict()
      .optional(),
    ...CONFIG_RUN_OPTIONS,
  })
  .strict()

export type ConfigFile = z.infer<typeof configSchema>

/** What a nested object may hold, for "did you mean" and "allowed". */
const NESTED: Record<string, string[]> = { migrations: ['directory'], pool: ['min', 'max'] }

/** Names people use for the migrations directory, from other tools (knex's own is `directory`). */
const DIRECTORY_NAMES = ['dir', 'path', 'folder', 'migrationsdir', 'migrationsdirectory', 'migrationspath', 'directory']

/** Keys of a knexfile's environment map: a config nested under one of these is a knexfile, not a named export. */
const ENVIRONMENTS = ['development', 'dev', 'production', 'prod', 'staging', 'test', 'testing', 'local', 'ci']

/**
 * What a misspelt config field most likely meant (`batchsize`, `maxbatchsize`, `migrations.dir`…),
 * or ''. A batch size itself is no config field: the file bounds it, and the migration file or
 * --batch-size fixes it.
 */
function unknownFieldHint(key: string, path: PropertyKey[]): string {
  const lower = key.toLowerCase()
  if (path.length === 0) {
    if (lower === 'batchsize')
      return ': a config file bounds the batch size (minBatchSize, maxBatchSize); fix it with batchSize in the migration file, or --batch-size'
    const allowed = Object.keys(configSchema.shape)
    const meant = nearestName(key, allowed) ?? (DIRECTORY_NAMES.includes(lower) ? 'migrations: { directory }' : undefined)
    return didYouMean(key, allowed, meant) || ' (expected defineConfig({ client, connection, migrations }))'
  }
  const allowed = NESTED[String(path[0])] ?? []
  const meant = nearestName(key, allowed) ?? (path[0] === 'migrations' && DIRECTORY_NAMES.includes(lower) ? 'directory' : undefined)
  return didYouMean(key, allowed, meant) || ` (allowed: ${allowed.join(', ')})`
}

/** The unknown top-level fields that hold a config of their own ({ client, connection }). */
function nestedConfigs(value: Record<string, unknown>): string[] {
  return Object.entries(value)
    .filter(([key, v]) => !(key in configSchema.shape) && typeof v === 'object' && v !== null && ('client' in v || 'connection' in v))
    .map(([key]) => key)
}

/**
 * A file that is no config: nothing exported as default, a knexfile's environment map, or a
 * config nested under a name. Said with how to write it instead; else undefined.
 */
function notAConfig(value: unknown, mod: unknown): string | undefined {
  const write = 'export default defineConfig({ client, connection, … })'
  // A file that exports nothing, or a CommonJS one that assigned to `exports` (or `module.export`)
  // instead of module.exports: its module.exports is an empty object. Never meant: refused, not
  // read as a config of defaults (its settings would be lost).
  const commonJs = 'in CommonJS, module.exports = defineConfig({ … }) (assigning to exports alone exports nothing)'
  if (typeof mod === 'object' && mod !== null && Object.keys(mod).length === 0) return `exports nothing: write ${write}`
  if (typeof value === 'object' && value !== null && !Array.isArray(value) && Object.keys(value).length === 0)
    return `exports an empty object: write ${write}; ${commonJs}`
  if (value === undefined) {
    const named = namedExports(mod)
    const found = named.length > 0 ? ` (only named exports: ${named.join(', ')})` : ''
    return `no default export${found}: write ${write}`
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return `the default export must be defineConfig({ ... }); found ${shown(value)}: write ${write}`
  const nested = nestedConfigs(value as Record<string, unknown>)
  if (nested.length === 0) return undefined
  if (nested.length > 1 || ENVIRONMENTS.includes(nested[0]!.toLowerCase())) {
    const sections = nested.map((k) => `"${k}"`).join(', ')
    const one = nested.find((k) => k.toLowerCase().startsWith('prod')) ?? nested[0]!
    return (
      `${sections} are environments, as in a knexfile, but evolve.config names one database: pick one, ` +
      `e.g. const { client, connection } = knexfile.${one}; export default defineConfig({ client, connection }) ` +
      '(or keep the environments in a knexfile.* and no evolve.config.*: evolve then reads the one NODE_ENV names, default development)'
    )
  }
  return `field "${nested[0]}" holds a config: export that config itself, ${write} (module.exports = defineConfig({ … }) in CommonJS)`
}

/**
 * Validates a config file's default export `value` (`mod`: the whole module, for what a file
 * without one exports instead). `needsConnection`: the file names the database (nothing else
 * did), so client and connection must be there.
 */
export function parseConfig(file: string, value: unknown, needsConnection: boolean, names: OptionNames, mod?: unknown): ConfigFile {
  const wrong = notAConfig(value, mod)
  if (wrong) throw usage('E_CONFIG', `${file}: ${wrong}`)
  const result = configSchema.safeParse(value)
  if (!result.success) {
    const issue = result.error.issues[0]!
    if (issue.code === 'unrecognized_keys') {
      const key = issue.keys[0]!
      const field = [...issue.path, key].join('.')
      throw usage('E_CONFIG', `${file}: unknown field "${field}"${unknownFieldHint(key, issue.path)}`)
    }
    throw usage('E_CONFIG', `${file}: field "${issue.path.join('.')}": ${issue.message}`)
  }
  const { client, connection, pool } = result.data
  const bounds = batchBoundsProblem(result.data)
  if (bounds) throw usage('E_CONFIG', `${file}: ${bounds}`)
  if (pool?.min !== undefined && pool.max !== undefined && pool.min > pool.max)
    throw usage('E_CONFIG', `${file}: pool.min (${pool.min}) is above pool.max (${pool.max}): lower one of them`)
  if (needsConnection && (client === undefined || connection === undefined)) {
    const missing = client === undefined ? 'client' : 'connection'
    throw usage('E_CONFIG', `${file}: field "${missing}" is missing: set it, or name the database with ${names.nameDb} or DATABASE_URL`)
  }
  if (client !== undefined && !dialectForClient(client)) {
    throw usage('E_CONFIG', `${file}: client "${client}" is not supported: use "pg" or "better-sqlite3"`)
  }
  return result.data
}

/**
 * A pool the database's client would not keep (SQLite: one connection per process, whatever is
 * asked) is refused rather than ignored. Else undefined.
 */
export function poolProblem(client: string, pool: ConfigFile['pool']): string | undefined {
  const dialect = dialectForClient(client)
  if (!pool || !dialect) return undefined
  const kept = dialect.knexConfig(undefined, pool).pool ?? {}
  if ((pool.min === undefined || pool.min === kept.min) && (pool.max === undefined || pool.max === kept.max)) return undefined
  const count = kept.min === kept.max ? `${kept.max} connection${kept.max === 1 ? '' : 's'}` : `${kept.min}–${kept.max} connections`
  return `field "pool": the ${client} client keeps ${count} per process, whatever "pool" says: leave "pool" out`
}
