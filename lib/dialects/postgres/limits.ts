import type { Knex } from 'knex'
import type { BatchLimits } from '../dialect.ts'
import { BYPASS_SETTING } from './read-only-guard.ts'

/*
 * evolvekit's own limits for its transactions, in place of the connected role's (ALTER ROLE … SET
 * statement_timeout, lock_timeout, idle_in_transaction_session_timeout), which are meant for the
 * app. Each is set with set_config(…, true), that is SET LOCAL: it ends with the transaction, so a
 * pooled connection goes back to the app as it came.
 */

const ms = (value: number) => String(Math.max(1, Math.round(value)))

/**
 * A batch's settings as set_config calls and their values. The idle limit is the statement limit:
 * a `transform` or `up` awaiting something between two statements holds the batch's row locks as
 * long as a statement would, so it gets as long as a statement does, however short the role's
 * idle_in_transaction_session_timeout (a role's 300 ms killed the connection under a transform
 * awaiting 800 ms, and the row was recorded as failed with a connection error naming no cause).
 */
function batchSets(limits: BatchLimits, bypassToken?: string): { sets: string[]; values: string[] } {
  const sets = [
    `set_config('lock_timeout', ?, true)`,
    `set_config('statement_timeout', ?, true)`,
    `set_config('idle_in_transaction_session_timeout', ?, true)`,
  ]
  const values = [ms(limits.lockTimeoutMs), ms(limits.statementTimeoutMs), ms(limits.statementTimeoutMs)]
  if (bypassToken !== undefined) {
    sets.push(`set_config('${BYPASS_SETTING}', ?, true)`)
    values.push(bypassToken)
  }
  return { sets, values }
}

/** The batch's limits as one statement: one round trip per batch. */
export async function postgresBeginBatch(trx: Knex.Transaction, limits: BatchLimits): Promise<void> {
  const { sets, values } = batchSets(limits)
  await trx.raw(`SELECT ${sets.join(', ')}`, values)
}

/**
 * The same settings (and the bypass) inside the fence's WHERE: evaluated on the batch row before the
 * UPDATE waits for its lock, so the lock timeout bounds that wait as it did as a statement of its own.
 */
export function postgresBatchSettings(db: Knex | Knex.Transaction, limits: BatchLimits, bypassToken?: string): Knex.Raw {
  const { sets, values } = batchSets(limits, bypassToken)
  return db.raw(`(${sets.join(' || ')}) IS NOT NULL`, values)
}

/**
 * One snapshot, read only, with no statement timeout (a count of a big table must be able to
 * finish: it reads, it locks no row) and the caller's lock timeout. The settings are the
 * transaction's first statement, which also takes its snapshot: the counts after it see the same.
 */
export function postgresReadSnapshot<T>(
  knex: Knex,
  fn: (trx: Knex.Transaction) => Promise<T>,
  limits?: Pick<BatchLimits, 'lockTimeoutMs'>,
): Promise<T> {
  return knex.transaction(
    async (trx) => {
      const lock = limits === undefined ? '' : `, set_config('lock_timeout', ?, true)`
      await trx.raw(`SELECT set_config('statement_timeout', '0', true)${lock}`, limits === undefined ? [] : [ms(limits.lockTimeoutMs)])
      return fn(trx)
    },
    { isolationLevel: 'repeatable read', readOnly: true },
  )
}
