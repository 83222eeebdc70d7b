import type { Knex } from 'knex'
import { EvolveConnectionError } from '../errors.ts'
import type { Store } from '../store/store.ts'

const DEFAULT_PATIENCE_MS = 60_000

/**
 * Runs a read-only toggle's transaction, again and again while its DDL's short lock timeout
 * expires (an app transaction holds the table), with growing pauses, until `patienceMs` has
 * passed; then says so clearly. Each failed try rolled back: nothing changed.
 */
export async function togglePatiently<T>(
  store: Store,
  knex: Knex,
  patienceMs = DEFAULT_PATIENCE_MS,
  fn: (trx: Knex.Transaction) => Promise<T>,
): Promise<T> {
  const deadline = performance.now() + patienceMs
  for (let delay = 50; ; delay = Math.min(delay * 2, 1000)) {
    try {
      return await knex.transaction(fn)
    } catch (err) {
      const reason = store.dialect.classifyError(err)
      if (reason !== 'lock_timeout' && reason !== 'busy' && reason !== 'deadlock') throw err
      if (performance.now() + delay > deadline) {
        // A lock that was held, not a mistake: the CLI's "try again later" (exit 75), the admin API's 503.
        throw new EvolveConnectionError(
          `read-only: could not change the table triggers within ${Math.round(patienceMs / 1000)} s: an app transaction keeps a lock on a guarded table (look for long transactions); nothing changed, try again`,
          { cause: err, transient: true, code: 'E_READ_ONLY_LOCK_TIMEOUT' },
        )
      }
      await new Promise((resolve) => setTimeout(resolve, delay * (0.5 + Math.random())))
    }
  }
}
