import { redact, withoutPassword } from '../../config/parse-url.ts'
import type { Dialect } from '../dialect.ts'
import { errorMessage } from '../../errors.ts'
import { postgresReadOnlyGuard } from './read-only-guard.ts'
import { postgresBatchSettings, postgresBeginBatch, postgresReadSnapshot } from './limits.ts'
import { postgresSnapshot } from './snapshot.ts'
import { nameLostConnection } from './lost-connection.ts'
import { classifyPostgresError, isPostgresMissingPrivilege, postgresDatabaseFault, withPostgresDetail } from './errors.ts'
import { postgresEstimateRows, postgresIsUniqueColumn, postgresRowSecurityRole, postgresTableColumns } from './introspect.ts'
import { openPostgresPresence, postgresIsWorkerConnected, postgresNotifyControl, postgresReplicationLagMs } from './presence.ts'
import { postgresWriteBack, postgresWriteBackTemplate } from './write-back.ts'
import { postgresRowSecurityInUse } from './row-security.ts'
import { postgresTrackingLocation } from './tracking-location.ts'

export const postgresDialect: Dialect = {
  name: 'postgres',
  describeTarget: (connection) => ({ target: typeof connection === 'string' ? redact(connection) : 'PostgreSQL' }),
  // A password is left out of the file (it is likely to be committed): PGPASSWORD or DATABASE_URL supply it.
  configConnectionSource: (url) => `process.env.DATABASE_URL ?? ${JSON.stringify(withoutPassword(url))}`,
  knexConfig: (connection, pool) => ({
    client: 'pg',
    connection,
    pool: {
      min: 0,
      max: 10,
      ...pool,
      // A connection the server ended between statements fails its next query with the server's reason.
      afterCreate(conn: Parameters<typeof nameLostConnection>[0], done: (err: Error | null, conn: unknown) => void) {
        nameLostConnection(conn)
        if (pool?.afterCreate) pool.afterCreate(conn, done)
        else done(null, conn)
      },
    },
  }),
  // Their limits replace the role's for the transaction only (limits.ts).
  beginBatch: postgresBeginBatch,
  batchSettings: postgresBatchSettings,
  dataModifyingWith: true,
  // The lock an UPDATE that leaves key columns alone takes itself: the app's inserts of rows whose
  // foreign key points at a locked row (FOR KEY SHARE) go on. An UPDATE or DELETE that does touch a
  // referenced key takes the stronger lock at that moment, so nothing relies on it being taken here.
  lockRows: (query) => query.forNoKeyUpdate(),
  skipLocked: (query) => query.forUpdate().skipLocked(),
  classifyError: classifyPostgresError,
  databaseFault: postgresDatabaseFault,
  isMissingPrivilege: isPostgresMissingPrivilege,
  failureText: (err) => withPostgresDetail(errorMessage(err), err),
  rowSecurityInUse: postgresRowSecurityInUse,
  writeBack: postgresWriteBack,
  writeBackTemplate: postgresWriteBackTemplate,
  readSnapshot: postgresReadSnapshot,
  clockMs: (knex) => knex.raw('(extract(epoch FROM clock_timestamp()) * 1000)::bigint'),
  tableColumns: postgresTableColumns,
  isUniqueColumn: postgresIsUniqueColumn,
  rowSecurityRole: postgresRowSecurityRole,
  openPresence: openPostgresPresence,
  isWorkerConnected: postgresIsWorkerConnected,
  notifyControl: postgresNotifyControl,
  replicationLagMs: postgresReplicationLagMs,
  estimateRows: postgresEstimateRows,
  trackingLocation: postgresTrackingLocation,
  readOnlyGuard: postgresReadOnlyGuard,
  snapshot: postgresSnapshot,
}
