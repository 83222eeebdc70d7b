import type { Knex } from 'knex'
import type { Dialect } from '../../dialects/dialect.ts'
import type { SwapSpec } from '../../dialects/snapshot-ddl.ts'
import { snapshotDdl } from './preflight.ts'

/** How long the swap waits for the app's readers each time; short, so they are not queued behind it for long. */
export const SWAP_LOCK_TIMEOUT_MS = 200
const SWAP_ATTEMPTS = 100

/**
 * The swap, retried while it cannot get its lock within SWAP_LOCK_TIMEOUT_MS (a long
 * reader holds the table): every attempt is one transaction that changes all or nothing.
 */
export async function swapWithRetry(
  knex: Knex,
  dialect: Dialect,
  spec: Omit<SwapSpec, 'lockTimeoutMs'>,
  inside: (trx: Knex.Transaction, marker: string) => Promise<void>,
): Promise<void> {
  const ddl = snapshotDdl(dialect)
  for (let attempt = 1; ; attempt++) {
    try {
      // No write bypass: the swap is DDL and writes only the tracking tables, which are never guarded.
      await ddl.swap(knex, { ...spec, lockTimeoutMs: SWAP_LOCK_TIMEOUT_MS }, inside)
      return
    } catch (err) {
      const reason = dialect.classifyError(err)
      if (reason === null || attempt >= SWAP_ATTEMPTS) throw err
      await new Promise((r) => setTimeout(r, Math.min(1000, 20 * attempt) * (0.5 + Math.random())))
    }
  }
}
