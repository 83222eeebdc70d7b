// The options the admin object takes from code (run/retry/plan/failures, openEvolve's `run`,
// readOnly.enable/disable), checked before anything happens: a mistake is one usage error naming the option, what it
// must be and what was found; an unknown key is refused, never ignored.
import { z } from 'zod'
import type { RunOptions } from '../core/context.ts'
import { didYouMean, shown, usage } from '../errors.ts'
import { CONFIG_RUN_OPTIONS, batchBoundsProblem, ms, positiveInt } from '../config/run-options-schema.ts'

const MODE = { message: "must be 'online' (the default) or 'snapshot'" }
import type { StartOptions } from './evolve-types.ts'

/** Every RunOptions key: openEvolve's `run`. */
const runShape = {
  ...CONFIG_RUN_OPTIONS,
  batchSize: positiveInt.optional(),
  quietTargetBatchMs: ms.optional(),
  leaseMs: ms.optional(),
  heartbeatMs: ms.optional(),
  pollMs: ms.optional(),
  retryMinMs: ms.optional(),
  retryMaxMs: ms.optional(),
}
// A run option added to RunOptions but not here would be refused as unknown: tsc says so first.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false
const _everyRunOption: Same<keyof typeof runShape, keyof RunOptions> = true

const runOptionsSchema = z.object(runShape).strict()
const startSchema = z
  .object({ ...runShape, workers: positiveInt.optional(), mode: z.enum(['online', 'snapshot'], MODE).optional() })
  .strict()
const planSchema = z.object({ batchSize: positiveInt.optional(), mode: z.enum(['online', 'snapshot'], MODE).optional() }).strict()

const KEY = 'must be a key: a number, a string, a bigint, bytes, or an array of them for a composite key'
const isKeyPart = (v: unknown) =>
  (typeof v === 'number' && Number.isFinite(v)) || typeof v === 'string' || typeof v === 'bigint' || v instanceof Uint8Array
const key = z.custom<unknown>((v) => isKeyPart(v) || (Array.isArray(v) && v.length > 0 && v.every(isKeyPart)), { message: KEY })
const failuresSchema = z.object({ limit: positiveInt.optional(), after: key.optional() }).strict()

// readOnly.enable / disable. The values are checked further where they are used (the message's
// length, the tables against the catalog, the duration's unit and range), still before any change.
const TEXT = { message: 'must be a string' }
const TABLES = { message: "must be an array of table names, e.g. ['users']" }
// A bare number has no unit: 1800 meant as seconds would be taken as 1.8 s, or the other way round.
const FOR = { message: "must be a duration with its unit, such as '30m', '2h', '90s' or '1d' (at most '30d'), not a bare number" }
const BY = { message: "must be a non-empty string naming who acts, e.g. 'deploy-bot'" }
const BOOLEAN = { message: 'must be true or false' }
const by = z.string(BY).min(1, BY)
const enableReadOnlySchema = z
  .object({
    message: z.string(TEXT).optional(),
    tables: z.array(z.string(TABLES), TABLES).optional(),
    for: z.string(FOR).optional(),
    by: by.optional(),
    patienceMs: ms.optional(),
  })
  .strict()
const disableReadOnlySchema = z.object({ by: by.optional(), force: z.boolean(BOOLEAN).optional() }).strict()
/** A bad `for` is the read-only module's own error, whatever its form. */
const READ_ONLY_CODES = { for: 'E_READ_ONLY_BAD_FOR' }

/** `evolve.run` / `retry` / `latencyUnwatched` options. */
export function checkStartOptions(value: unknown): StartOptions {
  return check(startSchema, value, 'run option')
}

/** openEvolve's `run`: the default run options of runs started through the object. */
export function checkRunOptions(value: unknown): Partial<RunOptions> {
  return check(runOptionsSchema, value, 'run option', 'openEvolve: ', {
    workers: 'pass it to run(), e.g. evolve.run(names, { workers: 2 })',
    mode: "pass it to run() or plan(), e.g. evolve.run(names, { mode: 'snapshot' })",
  })
}

export function checkPlanOptions(value: unknown): z.infer<typeof planSchema> {
  return check(planSchema, value, 'plan option')
}

export function checkFailuresOptions(value: unknown): { limit?: number; after?: unknown } {
  return check(failuresSchema, value, 'failures option')
}

/** `evolve.readOnly.enable` options (its `by` included). */
export function checkEnableReadOnlyOptions(value: unknown): z.infer<typeof enableReadOnlySchema> {
  return check(enableReadOnlySchema, value, 'read-only option', '', {}, READ_ONLY_CODES)
}

/** `evolve.readOnly.disable` options. */
export function checkDisableReadOnlyOptions(value: unknown): z.infer<typeof disableReadOnlySchema> {
  return check(disableReadOnlySchema, value, 'read-only option')
}

/** `hints`: what to do instead, by unknown key; `codes`: the error code of a bad value, by key (default E_CONFIG). */
function check<S extends z.ZodObject>(
  schema: S,
  value: unknown,
  what: string,
  where = '',
  hints: Record<string, string> = {},
  codes: Record<string, string> = {},
): z.infer<S> {
  const result = schema.safeParse(value)
  if (result.success) {
    const bounds = batchBoundsProblem(result.data as { minBatchSize?: number; maxBatchSize?: number })
    if (bounds) throw usage('E_CONFIG', `${where}${bounds}`)
    return result.data
  }
  // An unknown key first: a misspelt option is the likelier mistake than the value next to it.
  const issue = result.error.issues.find((i) => i.code === 'unrecognized_keys') ?? result.error.issues[0]!
  const allowed = Object.keys(schema.shape)
  if (issue.code === 'unrecognized_keys') {
    const unknown = issue.keys[0]!
    if (Object.hasOwn(hints, unknown))
      throw usage('E_CONFIG', `${where}"${unknown}" is not a ${what} but a choice of each run: ${hints[unknown]}`)
    throw usage('E_CONFIG', `${where}unknown ${what} "${unknown}"${didYouMean(unknown, allowed)} (allowed: ${allowed.join(', ')})`)
  }
  if (issue.path.length === 0) throw usage('E_CONFIG', `${where}${what}s must be an object (found ${shown(value)})`)
  const name = String(issue.path[0])
  const code = Object.hasOwn(codes, name) ? codes[name]! : 'E_CONFIG'
  const given = (value as Record<string, unknown>)[name]
  // A bad element of an array is shown, not the array.
  const index = issue.path[1]
  const found = Array.isArray(given) && typeof index === 'number' ? `${shown(given[index])} at ${name}[${index}]` : shown(given)
  throw usage(code, `${where}${what} "${name}" ${issue.message} (found ${found})`)
}
