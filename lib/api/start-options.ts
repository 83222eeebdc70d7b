// The options the admin object takes from code (run/retry/plan/failures, openEvolve's `run`),
// checked before anything happens: a mistake is one usage error naming the option, what it
// must be and what was found; an unknown key is refused, never ignored.
import { z } from 'zod'
import type { RunOptions } from '../core/context.ts'
import { usage } from '../errors.ts'
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

/** `hints`: what to do instead, by unknown key. */
function check<S extends z.ZodObject>(schema: S, value: unknown, what: string, where = '', hints: Record<string, string> = {}): z.infer<S> {
  const result = schema.safeParse(value)
  if (result.success) {
    const bounds = batchBoundsProblem(result.data as { minBatchSize?: number; maxBatchSize?: number })
    if (bounds) throw usage('E_CONFIG', `${where}${bounds}`)
    return result.data
  }
  const issue = result.error.issues[0]!
  const allowed = Object.keys(schema.shape)
  if (issue.code === 'unrecognized_keys') {
    const unknown = issue.keys[0]!
    if (Object.hasOwn(hints, unknown))
      throw usage('E_CONFIG', `${where}"${unknown}" is not a ${what} but a choice of each run: ${hints[unknown]}`)
    const near = allowed.find((k) => k.toLowerCase() === unknown.toLowerCase())
    const hint = near ? `: did you mean "${near}"?` : ''
    throw usage('E_CONFIG', `${where}unknown ${what} "${unknown}"${hint} (allowed: ${allowed.join(', ')})`)
  }
  if (issue.path.length === 0) throw usage('E_CONFIG', `${where}${what}s must be an object (found ${shown(value)})`)
  const name = String(issue.path[0])
  throw usage('E_CONFIG', `${where}${what} "${name}" ${issue.message} (found ${shown((value as Record<string, unknown>)[name])})`)
}

/** A value as an error message shows it: short, strings quoted. */
function shown(value: unknown): string {
  if (value === null || value === undefined || typeof value === 'number' || typeof value === 'boolean') return String(value)
  if (typeof value === 'bigint') return `${value}n`
  if (typeof value === 'function') return 'a function'
  if (Array.isArray(value)) return `an array of ${value.length}`
  if (typeof value === 'object') return 'an object'
  const text = JSON.stringify(value) ?? String(value)
  return text.length > 40 ? `${text.slice(0, 40)}…` : text
}
