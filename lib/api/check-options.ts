import { didYouMean, shown, usage } from '../errors.ts'

/**
 * Checks an options object when a middleware or switch is created (not per request): an unknown
 * key is named with the one it likely meant, a bad value with what it takes. E_CONFIG.
 */
export function checkOptions<T>(fn: string, opts: unknown, spec: Record<string, { takes: string; ok: (v: unknown) => boolean }>): T {
  if (opts === undefined) return {} as T
  const allowed = Object.keys(spec)
  if (opts === null || typeof opts !== 'object' || Array.isArray(opts))
    throw usage('E_CONFIG', `${fn}: options must be an object such as { ${allowed[0]}: … } (found ${shown(opts)})`)
  for (const key of Object.keys(opts)) {
    if (Object.hasOwn(spec, key)) continue
    throw usage('E_CONFIG', `${fn}: unknown option "${key}"${didYouMean(key, allowed)} (allowed: ${allowed.join(', ')})`)
  }
  for (const [key, value] of Object.entries(opts)) {
    if (value !== undefined && !spec[key]!.ok(value))
      throw usage('E_CONFIG', `${fn}: option "${key}" must be ${spec[key]!.takes} (found ${shown(value)})`)
  }
  return opts as T
}

/** What a knex instance looks like: a function with a client and raw(). */
export function isKnex(value: unknown): boolean {
  return typeof value === 'function' && typeof (value as { raw?: unknown }).raw === 'function' && 'client' in value
}

/** What the admin object from openEvolve looks like where a knex or a switch belongs: one holding a knex. */
export function isAdminObject(value: unknown): boolean {
  return value !== null && typeof value === 'object' && isKnex((value as { knex?: unknown }).knex)
}
