import { existsSync } from 'node:fs'
import type { Dialect } from '../dialect.ts'
import { sqliteReadOnlyGuard } from './read-only-guard.ts'
import { sqliteSnapshot } from './snapshot.ts'
import { classifySqliteError } from './errors.ts'
import { noteWalAtOpen, sqliteOthersWroteAt } from './others-wrote.ts'
import { sqliteDeferCheckpoint } from './checkpoint.ts'
import { sqliteIsUniqueColumn, sqliteTableColumns } from './introspect.ts'
import { sqliteWriteBack, sqliteWriteBackTemplate } from './write-back.ts'

// Until the first batch sets the migration's lockTimeoutMs.
const DEFAULT_BUSY_TIMEOUT_MS = 5000
const SQLITE_PAUSE_MS = 25
// SQLite's busy handler sleeps at most 25 ms between tries for its first 128 ms of waiting, 100 ms after.
const SQLITE_SHORT_WAIT_MS = 128
const SQLITE_LONG_PAUSE_MS = 110

interface SqliteConnection {
  /** The file, as opened. */
  name: string
  pragma(source: string): unknown
}

export const sqliteDialect: Dialect = {
  name: 'sqlite',
  describeTarget(connection) {
    if (!connection || typeof connection !== 'object' || !('filename' in connection)) {
      const got = typeof connection === 'string' ? `"${connection}"` : typeof connection
      return { target: 'SQLite', problem: `a better-sqlite3 connection is { filename: './app.db' }, not ${got}: fix "connection"` }
    }
    const file = String(connection.filename)
    // better-sqlite3 would create an empty file; a typo should not leave one behind.
    return existsSync(file) ? { target: file } : { target: file, problem: `SQLite database file ${file} does not exist: check the path` }
  },
  // The path as the user wrote it, relative to where they ran `init`.
  configConnectionSource: (url) => `{ filename: ${JSON.stringify(url.slice('sqlite:'.length))} }`,
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
  // A writer waiting on SQLite's lock (busy_timeout) sleeps 1, 2, 5, 10, 15, 20, 25, 25, 25, 50,
  // 50, 100 ms between tries: back-to-back batches would starve it (the app, or `evolve pause`).
  // A 25 ms gap is at least as long as any of its sleeps for its first 128 ms of waiting, so such
  // a writer always tries once while the lock is free; and since the app waits about as long as
  // the longest batch, batches aim at 25 ms too. Chosen from the sweep in docs/benchmarks.md
  // (bench/sqlite-pause-sweep.ts): during a transform the app's longest write fell from 120–181 ms
  // (old rule: half the batch time) and 89–223 ms (25 ms pause, 50 ms target) to 37 ms.
  // After a batch longer than those first 128 ms, a writer that waited through it sleeps up to
  // 100 ms between tries: the gap must then be longer than that, or a long batch (an `up` that
  // calls out, a slow transform) starves an operator's `evolve pause` and the app for good.
  pauseAfterBatchMs: (batchMs) => (batchMs < SQLITE_SHORT_WAIT_MS ? SQLITE_PAUSE_MS : SQLITE_LONG_PAUSE_MS),
  targetBatchMs: 25,
  // While no other connection writes, batches may run longer: a writer arriving during one still
  // gets in within one batch and one pause (75 + 25 ms), and from the next batch on they aim short
  // again. Three quarters of the time writing instead of half.
  quietTargetBatchMs: 75,
  othersWroteAt: sqliteOthersWroteAt,
  deferCheckpoint: sqliteDeferCheckpoint,
  // A batch's first statement is a write, which takes SQLite's single write lock for the
  // whole transaction (the effect of BEGIN IMMEDIATE): no row lock is needed on top.
  lockRows: (query) => query,
  // Single-statement claims are atomic: SQLite runs one writer at a time.
  skipLocked: (query) => query,
  classifyError: classifySqliteError,
  writeBack: sqliteWriteBack,
  writeBackTemplate: sqliteWriteBackTemplate,
  // A SQLite transaction reads one snapshot from its first read on (WAL): no isolation level to ask for.
  readSnapshot: (knex, fn) => knex.transaction(fn),
  clockMs: (knex) => knex.raw("CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)"),
  tableColumns: sqliteTableColumns,
  isUniqueColumn: sqliteIsUniqueColumn,
  readOnlyGuard: sqliteReadOnlyGuard,
  snapshot: sqliteSnapshot,
}
