import { existsSync } from 'node:fs'
import type { Dialect } from '../dialect.ts'
import { errorMessage } from '../../errors.ts'
import { sqliteReadOnlyGuard } from './read-only-guard.ts'
import { sqliteSnapshot } from './snapshot.ts'
import { classifySqliteError, sqliteDatabaseFault } from './errors.ts'
import { noteWalAtOpen, sqliteOthersWroteAt } from './others-wrote.ts'
import { sqliteDeferCheckpoint } from './checkpoint.ts'
import { sqlitePauseAfterBatchMs } from './pause.ts'
import { sqliteCommitStamp } from './commit-stamp.ts'
import { sqliteIsUniqueColumn, sqliteTableColumns } from './introspect.ts'
import { sqliteWriteBack, sqliteWriteBackTemplate } from './write-back.ts'

// Until the first batch sets the migration's lockTimeoutMs.
const DEFAULT_BUSY_TIMEOUT_MS = 5000

interface SqliteConnection {
  /** The file, as opened. */
  name: string
  pragma(source: string, options?: { simple: true }): unknown
}

export const sqliteDialect: Dialect = {
  name: 'sqlite',
  describeTarget(connection) {
    if (!connection || typeof connection !== 'object' || !('filename' in connection)) {
      const fields = connection && typeof connection === 'object' ? Object.keys(connection) : []
      const got =
        typeof connection === 'string'
          ? `"${connection}"`
          : fields.length > 0
            ? `an object with ${fields.map((f) => `"${f}"`).join(', ')}`
            : typeof connection
      return { target: 'SQLite', problem: `a better-sqlite3 connection is { filename: './app.db' }, not ${got}: fix "connection"` }
    }
    const file = String(connection.filename)
    // better-sqlite3 would create an empty file; a typo should not leave one behind.
    return existsSync(file) ? { target: file } : { target: file, problem: `SQLite database file ${file} does not exist: check the path` }
  },
  // The path as the user wrote it, relative to where they ran `init`.
  configConnectionSource: (url, moved) => `{ filename: ${JSON.stringify(moved(url.slice('sqlite:'.length)))} }`,
  knexConfig: (connection, pool) => ({
    client: 'better-sqlite3',
    connection,
    useNullAsDefault: true,
    pool: {
      ...pool,
      // One connection per process whatever the caller asks: SQLite has one writer anyway,
      // and workers of one process then queue in the pool instead of on SQLITE_BUSY.
      min: 1,
      max: 1,
      afterCreate(conn: SqliteConnection, done: (err: Error | null, conn: unknown) => void) {
        try {
          // Before anything of ours lands in the WAL: when did someone else last write? (pacing)
          noteWalAtOpen(conn)
          // WAL lets the app keep reading while a batch writes.
          conn.pragma('journal_mode = WAL')
          // SQLite's own 2 MB page cache instead of better-sqlite3's 16 MB: a batch passes each page
          // once, so a bigger cache only keeps the overflow pages of wide rows it rewrote (the runner
          // grew by ~20 MB on 1 MB rows); no run measured faster with it (docs/benchmarks.md).
          conn.pragma('cache_size = -2000')
          conn.pragma(`busy_timeout = ${DEFAULT_BUSY_TIMEOUT_MS}`)
          done(null, conn)
        } catch (err) {
          done(err as Error, conn)
        }
      },
    },
  }),
  async beginBatch(trx, limits) {
    // SQLite has no statement timeout; busy_timeout bounds how long a batch waits for the app.
    // It is a connection setting, so the runner's bookkeeping between batches keeps it too:
    // a claim that meets the app's lock backs off like a batch and counts as a retry.
    await trx.raw(`PRAGMA busy_timeout = ${Math.max(1, Math.round(limits.lockTimeoutMs))}`)
  },
  // A writer waiting on SQLite's lock sleeps between tries: back-to-back batches would starve it
  // (the app, or `evolve pause`). The pause after a batch is the longest of those sleeps that can
  // straddle the batch's end (pause.ts): 15 ms after a 25 ms batch. Chosen from the sweep in
  // docs/benchmarks.md (bench/sqlite-pause-sweep.ts, 300,000 rows, the app writing all the time):
  // against a fixed 25 ms, set ran in 0.30–0.33 s instead of 0.43–0.54 s, transform in 0.75–1.00 s
  // instead of 0.93–1.13 s; the app's longest write stayed 34–54 ms but in one run of each (109 ms
  // with this rule, 104 ms with 25 ms: a try that met another writer waits for the next pause).
  // And since the app waits about as long as the longest batch, batches aim at 25 ms.
  pauseAfterBatchMs: sqlitePauseAfterBatchMs,
  targetBatchMs: 25,
  // While no other connection writes, batches may run longer: a writer arriving during one still
  // gets in within one batch and one pause (75 + 25 ms; a batch may overrun its aim a little), and
  // from the next batch on they aim short again. Three quarters of the time writing instead of 62 %.
  quietTargetBatchMs: 75,
  othersWroteAt: sqliteOthersWroteAt,
  deferCheckpoint: sqliteDeferCheckpoint,
  commitStamp: sqliteCommitStamp,
  // A batch's first statement is a write, which takes SQLite's single write lock for the
  // whole transaction (the effect of BEGIN IMMEDIATE): no row lock is needed on top.
  lockRows: (query) => query,
  // Single-statement claims are atomic: SQLite runs one writer at a time.
  skipLocked: (query) => query,
  classifyError: classifySqliteError,
  databaseFault: sqliteDatabaseFault,
  isMissingPrivilege: () => false,
  failureText: errorMessage,
  writeBack: sqliteWriteBack,
  writeBackTemplate: sqliteWriteBackTemplate,
  // A SQLite transaction reads one snapshot from its first read on (WAL): no isolation level to ask for.
  readSnapshot: (knex, fn) => knex.transaction(fn),
  clockMs: (knex) => knex.raw("CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)"),
  tableColumns: sqliteTableColumns,
  isUniqueColumn: sqliteIsUniqueColumn,
  keysMayTakeNull: true,
  readOnlyGuard: sqliteReadOnlyGuard,
  snapshot: sqliteSnapshot,
}
