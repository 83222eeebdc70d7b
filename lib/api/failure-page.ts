import type { Knex } from 'knex'
import { usage } from '../errors.ts'
import { compareKeys } from '../store/compare-keys.ts'
import type { Store } from '../store/store.ts'
import type { FailurePage } from './evolve-types.ts'
import { checkKeyShape, likeKeys } from './key-shape.ts'
import { checkFailuresOptions } from './start-options.ts'

/**
 * One page of a run's failed objects in key order, after `after` (a key shaped like the run's),
 * with the count of every page together and the `after` of the next page. A run's failures are
 * bounded by its maxFailures, so they are read whole and paged here, by decoded key.
 * `mustExist` throws the unknown-name error when `name` is neither a migration nor a run.
 */
export async function pageFailures(
  store: Store,
  knex: Knex,
  name: string,
  options: { limit?: number; after?: unknown },
  mustExist: (name: string) => Promise<void>,
): Promise<FailurePage> {
  const opts = checkFailuresOptions(options)
  if (!(await store.has(knex)) || !(await store.runs.get(knex, name))) {
    await mustExist(name)
    throw usage('E_UNKNOWN_RUN', `migration "${name}" has not run yet: see \`evolve status\``)
  }
  const all = await store.failures.list(knex, name)
  if (opts.after !== undefined && all.length > 0) checkKeyShape(name, opts.after, all[0]!.key)
  const after = opts.after === undefined || all.length === 0 ? opts.after : likeKeys(opts.after, all[0]!.key)
  const rest = after === undefined ? all : all.filter((f) => compareKeys(f.key, after) > 0)
  const page = opts.limit === undefined ? rest : rest.slice(0, opts.limit)
  return {
    failures: page.map((f) => ({ ...f, createdAt: new Date(f.createdAt).toISOString(), updatedAt: new Date(f.updatedAt).toISOString() })),
    total: all.length,
    next: page.length < rest.length ? page.at(-1)!.key : null,
  }
}
