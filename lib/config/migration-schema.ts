import { z } from 'zod'
import { usage } from '../errors.ts'
import { type Migration, MIGRATION_DEFAULTS } from '../core/migration.ts'
import { stripUndefined } from '../core/strip-undefined.ts'

const fn = z.custom<(...args: never[]) => unknown>((v) => typeof v === 'function', { message: 'must be a function' })
const POSITIVE = { message: 'must be a positive integer' }
const positiveInt = z.number(POSITIVE).int(POSITIVE).positive(POSITIVE)
const SWEEPS = { message: 'must be a whole number, 0 or more' }
const KEY = "must be a column name or a list of them, e.g. 'id' or ['tenant_id', 'id']"
const COLUMNS = "must be a list of column names, e.g. ['title']"
/** A column name: a non-empty string, or `message`. */
const name = (message: string) => z.string({ message }).min(1, { message })

const schema = z
  .object({
    description: z.string({ message: 'must be a string' }).optional(),
    table: z
      .string({
        error: (issue) =>
          issue.input === undefined ? 'is required: the name of the table to evolve' : 'must be the name of the table to evolve, a string',
      })
      .min(1, { message: 'must not be empty' }),
    key: z.union([name(KEY), z.array(name(KEY), { message: KEY }).min(1, { message: KEY })], { message: KEY }).optional(),
    columns: z.array(name(COLUMNS), { message: COLUMNS }).min(1, { message: COLUMNS }).optional(),
    pending: fn.optional(),
    transform: fn.optional(),
    set: z.record(z.string(), fn).optional(),
    up: fn.optional(),
    batchSize: positiveInt.optional(),
    lockTimeoutMs: positiveInt.optional(),
    statementTimeoutMs: positiveInt.optional(),
    maxAttempts: positiveInt.optional(),
    maxFailures: positiveInt.optional(),
    sweeps: z.number(SWEEPS).int(SWEEPS).min(0, SWEEPS).optional(),
    mode: z.enum(['online', 'readonly', 'snapshot'], { message: "must be 'online' (the default), 'readonly' or 'snapshot'" }).optional(),
    verify: fn.optional(),
    readOnlyMessage: z
      .string({ message: 'must be a string: what the app tells its users while writes are refused' })
      .trim()
      .min(1, { message: 'must not be empty: leave it out for the default notice' })
      .max(500, { message: 'must be at most 500 characters, like `evolve readonly on --message`' })
      .optional(),
  })
  .strict()

const MODES = ['transform', 'set', 'up'] as const

/** How to keep a helper module in the migrations directory; part of every "not a migration" error. */
export const HELPER_RULE = 'a helper module? start its file name with "_" (e.g. _shared.ts): evolve skips those'

/** Validates a migration file's default export; errors name the file and the field. */
export function parseMigration(name: string, file: string, value: unknown): Migration {
  // Nothing of a migration in it (no default export, named exports only, a CommonJS helper or
  // a knex schema migration's `exports.up`): say what a migration file must be, and how to keep
  // helpers and knex's migrations apart.
  const object = typeof value === 'object' && value !== null
  if (!object || !['table', 'transform', 'set'].some((k) => k in value)) {
    const found = value === undefined ? 'no default export' : object ? 'an object with no "table"' : describeValue(value)
    const knex =
      value === undefined || (object && 'up' in value)
        ? '; a knex schema migration? evolve migrations need a directory of their own: --dir, or migrations.directory in evolve.config.ts'
        : ''
    throw usage('E_MIGRATION_INVALID', `${file}: the default export must be defineMigration({...}); found ${found}; ${HELPER_RULE}${knex}`)
  }
  const result = schema.safeParse(value)
  if (!result.success) {
    const issue = result.error.issues[0]!
    if (issue.code === 'unrecognized_keys') {
      const allowed = Object.keys(schema.shape).join(', ')
      throw usage('E_MIGRATION_INVALID', `${file}: unknown option "${issue.keys[0]}" (allowed: ${allowed})`)
    }
    const found = at(value, issue.path)
    const shown = found === undefined ? '' : ` (found ${describeValue(found)})`
    throw usage('E_MIGRATION_INVALID', `${file}: field "${issue.path.join('.')}" ${issue.message}${shown}`)
  }
  const def = result.data
  const modes = MODES.filter((m) => def[m] !== undefined)
  if (modes.length !== 1) {
    const found = modes.length === 0 ? 'none' : modes.map((m) => `"${m}"`).join(' and ')
    throw usage('E_MIGRATION_INVALID', `${file}: define exactly one of "transform", "set" or "up" (found ${found})`)
  }
  if (def.set && Object.keys(def.set).length === 0) {
    throw usage('E_MIGRATION_INVALID', `${file}: field "set" must name at least one column`)
  }
  if (Array.isArray(def.key) && new Set(def.key).size !== def.key.length) {
    throw usage('E_MIGRATION_INVALID', `${file}: field "key" names a column twice: list each key column once`)
  }
  if (def.columns && def.set) {
    throw usage('E_MIGRATION_INVALID', `${file}: field "columns" applies to "transform" and "up" (set mode reads no rows): remove it`)
  }
  if (def.readOnlyMessage !== undefined && def.mode !== 'readonly' && def.mode !== 'snapshot') {
    throw usage(
      'E_MIGRATION_INVALID',
      `${file}: field "readOnlyMessage" applies to mode 'readonly' and 'snapshot' (the app's writes are not refused otherwise): remove it or set mode`,
    )
  }
  // A one-column list is that column: ranges then compare plainly, not as row values.
  if (Array.isArray(def.key) && def.key.length === 1) def.key = def.key[0]!
  return {
    ...MIGRATION_DEFAULTS,
    table: def.table,
    ...(stripUndefined(def) as Partial<Migration>),
    name,
    file,
    description: def.description ?? null,
    mode: modes[0]!,
    readOnly: def.mode === 'readonly',
    snapshot: def.mode === 'snapshot',
  }
}

/** The value at `path` inside `value`, for an error message. */
function at(value: unknown, path: PropertyKey[]): unknown {
  return path.reduce<unknown>((v, k) => (typeof v === 'object' && v !== null ? (v as Record<PropertyKey, unknown>)[k] : undefined), value)
}

/** A value as an error message shows it: short, with its type. */
function describeValue(value: unknown): string {
  if (value === null) return 'null'
  if (typeof value === 'function') return 'a function'
  if (Array.isArray(value)) return `an array of ${value.length}`
  if (typeof value === 'object') return 'an object'
  const text = JSON.stringify(value) ?? String(value)
  return `${typeof value} ${text.length > 40 ? `${text.slice(0, 40)}…` : text}`
}
