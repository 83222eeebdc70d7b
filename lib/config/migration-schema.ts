import { z } from 'zod'
import { usage } from '../errors.ts'
import { type Migration, MIGRATION_DEFAULTS } from '../core/migration.ts'

const fn = z.custom<(...args: never[]) => unknown>((v) => typeof v === 'function', { message: 'must be a function' })
const positiveInt = z.number().int().positive()

const schema = z
  .object({
    description: z.string().optional(),
    table: z.string({ message: 'is required: the name of the table to evolve' }).min(1),
    key: z.string().min(1).optional(),
    pending: fn.optional(),
    transform: fn.optional(),
    set: z.record(z.string(), fn).optional(),
    up: fn.optional(),
    batchSize: positiveInt.optional(),
    lockTimeoutMs: positiveInt.optional(),
    statementTimeoutMs: positiveInt.optional(),
    maxAttempts: positiveInt.optional(),
    maxFailures: positiveInt.optional(),
    sweeps: z.number().int().min(0).optional(),
    mode: z.enum(['online', 'snapshot'], { message: "must be 'online' (the default) or 'snapshot'" }).optional(),
    verify: fn.optional(),
  })
  .strict()

const MODES = ['transform', 'set', 'up'] as const

/** Validates a migration file's default export; errors name the file and the field. */
export function parseMigration(name: string, file: string, value: unknown): Migration {
  if (typeof value !== 'object' || value === null) {
    // knex keeps its schema migrations in ./migrations too: say how to keep the two apart.
    const hint =
      value === undefined
        ? ' (a knex schema migration? evolve migrations need a directory of their own: --dir, or migrations.directory in evolve.config.ts)'
        : ''
    throw usage(
      'E_MIGRATION_INVALID',
      `${file}: the default export must be defineMigration({...}); found ${value === undefined ? 'no default export' : typeof value}${hint}`,
    )
  }
  const result = schema.safeParse(value)
  if (!result.success) {
    const issue = result.error.issues[0]!
    if (issue.code === 'unrecognized_keys') {
      const allowed = Object.keys(schema.shape).join(', ')
      throw usage('E_MIGRATION_INVALID', `${file}: unknown option "${issue.keys[0]}" (allowed: ${allowed})`)
    }
    throw usage('E_MIGRATION_INVALID', `${file}: field "${issue.path.join('.')}" ${issue.message}`)
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
  return {
    ...MIGRATION_DEFAULTS,
    table: def.table,
    ...(Object.fromEntries(Object.entries(def).filter(([, v]) => v !== undefined)) as Partial<Migration>),
    name,
    file,
    description: def.description ?? null,
    mode: modes[0]!,
    snapshot: def.mode === 'snapshot',
  }
}
