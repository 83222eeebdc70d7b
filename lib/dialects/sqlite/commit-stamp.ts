import type { Knex } from 'knex'
import { withNativeConnection } from './native-connection.ts'

interface Connection {
  prepare(sql: string): { get(): { version: number; changes: number } }
}

// data_version changes whenever another connection commits (never for this one's own commits);
// total_changes() counts the rows this connection's statements wrote, so an app writing through
// evolvekit's own knex (`evolve.knex`) changes the stamp too.
const STAMP = 'SELECT data_version AS version, total_changes() AS changes FROM pragma_data_version'

/**
 * What has been committed to the file as this knex's one connection sees it. Inside a transaction
 * it reads on the transaction's connection and, as a read, takes the transaction's snapshot: a
 * later write of that transaction fails with SQLITE_BUSY_SNAPSHOT if anyone committed after it.
 */
export async function sqliteCommitStamp(db: Knex | Knex.Transaction): Promise<string> {
  return withNativeConnection(db, (connection: Connection) => {
    const { version, changes } = connection.prepare(STAMP).get()
    return `${version}/${changes}`
  })
}
