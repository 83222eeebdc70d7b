import { redact, withoutPassword } from '../../config/parse-url.ts'
import type { Dialect } from '../dialect.ts'
import { BYPASS_SETTING, postgresReadOnlyGuard } from './read-only-guard.ts'
import { postgresSnapshot } from './snapshot.ts'
import { classifyPostgresError, postgresDatabaseFault } from './errors.ts'
import { postgresEstimateRows, postgresIsUniqueColumn, postgresRowSecurityRole, postgresTableColumns } from './introspect.ts'
import { openPostgresPresence, postgresIsWorkerConnected, postgresNotifyControl, postgresReplicationLagMs } from './presence.ts'
import { postgresWriteBack, postgresWriteBackTemplate } from './write-back.ts'

export const postgresDialect: Dialect = {
  name: 'postgres',
  describeTarget: (connection) => ({ target: typeof connection === 'string' ? redact(connection) : 'PostgreSQL' }),
  // A password is left out of the file (it is likely to be committed): PGPASSWORD or DATABASE_URL supply it.
  configConnectionSource: (url) => `process.env.DATABASE_URL ?? ${JSON.stringify(withoutPassword(url))}`,
  knexConfig: (connection, pool) => ({
    client: 'pg',
    connection,
    pool: { min: 0, max: 10, ...pool },
  }),
  async beginBatch(trx, limits) {
    // Local to the transaction (set_config's `true` is SET LOCAL), so the app's sessions are never
    // affected; both in one statement, one round trip per batch.
    const ms = (value: number) => String(Math.max(1, Math.round(value)))
    await trx.raw(`SELECT set_config('lock_timeout', ?, true), set_config('statement_timeout', ?, true)`, [
      ms(limits.lockTimeoutMs),
      ms(limits.statementTimeoutMs),
    ])
  },
  // The same settings (and the bypass) inside the fence's WHERE: evaluated on the batch row before the
  // UPDATE waits for its lock, so the lock timeout bounds that wait as it did as a statement of its own.
  batchSettings(db, limits, bypassToken) {
    const ms = (value: number) => String(Math.max(1, Math.round(value)))
    const sets = [`set_config('lock_timeout', ?, true)`, `set_config('statement_timeout', ?, true)`]
    const values = [ms(limits.lockTimeoutMs), ms(limits.statementTimeoutMs)]
    if (bypassToken !== undefined) {
      sets.push(`set_config('${BYPASS_SETTING}', ?, true)`)
      values.push(bypassToken)
    }
    return db.raw(`(${sets.join(' || ')}) IS NOT NULL`, values)
  },
  dataModifyingWith: true,
  // The lock an UPDATE that leaves key columns alone takes itself: the app's inserts of rows whose
  // foreign key points at a locked row (FOR KEY SHARE) go on. An UPDATE or DELETE that does touch a
  // referenced key takes the stronger lock at that moment, so nothing relies on it being taken here.
  lockRows: (query) => query.forNoKeyUpdate(),
  skipLocked: (query) => query.forUpdate().skipLocked(),
  classifyError: classifyPostgresError,
  databaseFault: postgresDatabaseFault,
  writeBack: postgresWriteBack,
  writeBackTemplate: postgresWriteBackTemplate,
  readSnapshot: (knex, fn) => knex.transaction(fn, { isolationLevel: 'repeatable read', readOnly: true }),
  clockMs: (knex) => knex.raw('(extract(epoch FROM clock_timestamp()) * 1000)::bigint'),
  tableColumns: postgresTableColumns,
  isUniqueColumn: postgresIsUniqueColumn,
  rowSecurityRole: postgresRowSecurityRole,
  openPresence: openPostgresPresence,
  isWorkerConnected: postgresIsWorkerConnected,
  notifyControl: postgresNotifyControl,
  replicationLagMs: postgresReplicationLagMs,
  estimateRows: postgresEstimateRows,
  readOnlyGuard: postgresReadOnlyGuard,
  snapshot: postgresSnapshot,
}
