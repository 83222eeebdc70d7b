import type { Knex } from 'knex'
import type { SnapshotDdl } from './snapshot-ddl.ts'

/** Why a failed batch attempt is worth retrying. */
export type RetryReason = 'deadlock' | 'serialization' | 'lock_timeout' | 'statement_timeout' | 'connection' | 'busy'

export interface BatchLimits {
  lockTimeoutMs: number
  statementTimeoutMs: number
}

/**
 * A table's key: one column, or several (a composite key). A key value is the column's value,
 * or an array with one value per column, in the same order.
 */
export type KeyColumns = string | string[]

/** One changed row: its key and the columns to write. */
export interface RowChange {
  key: unknown
  changes: Record<string, unknown>
}

/** What validation needs to know about one column of a table. */
export interface ColumnFacts {
  name: string
  /** The column's type as the database names it, for messages. */
  type: string
  /** False only when the database guarantees the column never holds NULL. */
  nullable: boolean
  /** A date/time type whose values change when batch bounds are stored as JSON and read back. */
  temporal: boolean
  /** Computed by the database (GENERATED ALWAYS AS …): never written back, whatever a transform returns. */
  generated: boolean
  /** Part of the partition key of a partitioned table (PostgreSQL): its unique keys must hold it. */
  partitionKey: boolean
}

/**
 * Everything that differs between PostgreSQL and SQLite, grouped by capability. The core talks
 * only to this interface (and to knex), never to a driver. Optional members are capabilities a
 * database may lack; where one is missing the core falls back (heartbeats, polling, counting).
 */
export interface Dialect extends DialectConnection, DialectBatches, DialectIntrospection, DialectCoordination {
  readonly name: 'postgres' | 'sqlite'
  /** Read-only mode, enforced by the database itself: every app connection, pooled or not, is refused at once. */
  readOnlyGuard?: ReadOnlyGuard
  /** Snapshot-and-swap: copy a table, build its indexes after the data, swap it in atomically, revert. */
  snapshot?: SnapshotDdl
}

/** Connecting: knex settings, messages about the target, the config file `init` writes. */
export interface DialectConnection {
  /** Where a connection points, for messages (never with a password); and why it cannot be used, if it cannot. */
  describeTarget(connection: Knex.Config['connection']): { target: string; problem?: string }
  /**
   * The `connection:` of an evolve.config.ts that `evolve init --db <url>` writes, as source text.
   * `moved`: how a path relative to where `init` runs is written relative to the file instead
   * (paths in a config file are relative to it).
   */
  configConnectionSource(url: string, moved: (path: string) => string): string
  /** Knex config for a connection URL of this dialect (pool hooks included). */
  knexConfig(connection: Knex.Config['connection'], pool?: Knex.PoolConfig): Knex.Config
}

/** Batches: their transaction's limits and locks, conflicts worth retrying, set-based write-back, pacing. */
export interface DialectBatches {
  /**
   * First statements of every batch transaction: bound how long it may wait for and hold locks, and
   * how long it may sit idle between two statements (a `transform` or `up` awaiting something):
   * evolvekit's limits replace the connected role's for the transaction.
   */
  beginBatch(trx: Knex.Transaction, limits: BatchLimits): Promise<void>
  /**
   * Optional: what `beginBatch` sets (and, given the token, the read-only bypass of `readOnlyGuard`) as
   * a condition that is always true and applies them when evaluated. The claim's fence, a batch's first
   * statement, carries it, so the batch opens in one round trip; without it, `beginBatch` and the
   * guard's `bypass` run statements of their own.
   */
  batchSettings?(db: Knex | Knex.Transaction, limits: BatchLimits, bypassToken?: string): Knex.Raw
  /**
   * Optional: WITH may hold an UPDATE whose RETURNING rows feed the statement (PostgreSQL). A claim's
   * compare-and-set on the run's cursor and the batch row it makes are then one statement instead of
   * a transaction of four round trips.
   */
  dataModifyingWith?: boolean
  /** How long to leave the database to the app after a batch that held it `heldMs`, its claim included (SQLite's single writer lock). */
  pauseAfterBatchMs?(heldMs: number): number
  /** The batch duration to aim for when the caller sets none (the app waits up to one batch for its writes). */
  targetBatchMs?: number
  /** With `othersWroteAt`: the batch duration to aim for while nobody else writes, when the caller sets none. */
  quietTargetBatchMs?: number
  /** When another connection last committed a write, as far as this knex can tell (Date.now() ms; now when it cannot know). */
  othersWroteAt?(knex: Knex): Promise<number>
  /**
   * Called before a batch: its commit then skips the housekeeping it would run before returning,
   * and the function returned runs it at the start of the pause after the batch (SQLite: the WAL
   * checkpoint). Never rejects.
   */
  deferCheckpoint?(knex: Knex): Promise<() => Promise<void>>
  /**
   * Optional: what has been committed, as a value that changes with any commit by another
   * connection and any write through this one (SQLite: `PRAGMA data_version` and the connection's
   * change count). Read in a transaction,
   * it also pins the transaction to what it saw: the transaction's first write fails (busy) if
   * anything was committed since. Lets a batch read its rows before it takes a database-wide write
   * lock and use them if the stamp is unchanged once it writes (core/prefetch.ts).
   */
  commitStamp?(db: Knex | Knex.Transaction): Promise<string>
  /** Re-reads rows under a lock the app's writers must respect. */
  lockRows(query: Knex.QueryBuilder): Knex.QueryBuilder
  /** For claim subqueries: skip rows another worker is claiming right now instead of queueing behind it. */
  skipLocked(query: Knex.QueryBuilder): Knex.QueryBuilder
  /** Conflict errors worth retrying, by SQLSTATE / SQLite code; null = not retryable. */
  classifyError(err: unknown): RetryReason | null
  /**
   * What a person must mend when the database, not a row, failed a statement (out of disk space,
   * a read-only replica, I/O errors), by SQLSTATE / SQLite code; null = maybe the rows' fault.
   * Splitting a batch over such an error would record healthy rows as failed. `where`: in a batch,
   * or outside one (the tracking tables, the checks before a run). 'setup' counts besides what a
   * row-level security policy may also raise for one row in a batch (PostgreSQL's 42501, a missing
   * privilege); 'batch' leaves that to the row unless `rowSecurityInUse` says no policy can.
   */
  databaseFault(err: unknown, where: 'batch' | 'setup'): string | null
  /** True for the database's "the role lacks a privilege" (PostgreSQL 42501); SQLite has none. */
  isMissingPrivilege(err: unknown): boolean
  /** An error as a failed object's record says it: its message, with what the database adds (PostgreSQL's DETAIL and HINT). */
  failureText(err: unknown): string
  /**
   * Optional: whether row-level security is on for any table of the database (PostgreSQL). Where
   * it is not, or the dialect has none (no such member), an error `databaseFault` counts only
   * outside a batch cannot be one row's inside one either: the run ends failed instead of
   * splitting the batch and recording every healthy row as failed.
   */
  rowSecurityInUse?(knex: Knex): Promise<boolean>
  /** Writes changed columns of many rows back in as few set-based statements as possible. */
  writeBack(trx: Knex.Transaction, table: string, key: KeyColumns, rows: RowChange[]): Promise<number>
  /**
   * Runs `fn` in a read-only transaction that sees one snapshot of the data throughout: evolvekit's
   * own counts outside a batch (a run's total, the check for rows still pending after each pass).
   * They run under evolvekit's limits, not the connected role's: no statement timeout (a full count
   * of a big table must be able to finish, and it locks no row), and a wait for the table's lock
   * bounded by `limits.lockTimeoutMs` where given, as a batch's is. A role's `statement_timeout`
   * meant for the app would otherwise cancel every count, and the end of every run with it.
   */
  readSnapshot<T>(knex: Knex, fn: (trx: Knex.Transaction) => Promise<T>, limits?: Pick<BatchLimits, 'lockTimeoutMs'>): Promise<T>
  /** SQL printed by `plan` for transform mode's write-back, as a template. */
  writeBackTemplate(table: string, key: KeyColumns, columns: string[]): string
}

/** Introspection: the schema validation checks, counts and estimates. */
export interface DialectIntrospection {
  /** The columns of `table` (`schema.table` on PostgreSQL), in order; undefined when there is no such table. */
  tableColumns(knex: Knex, table: string): Promise<ColumnFacts[] | undefined>
  /** True when a unique index (or primary key) of `table` covers only columns of `key`: no two rows share a key. */
  isUniqueColumn(knex: Knex, table: string, key: KeyColumns): Promise<boolean>
  /**
   * True where a key validated as NOT NULL may still take a NULL (SQLite: a primary key that is not
   * INTEGER accepts one): the end of each pass then looks for rows no range holds.
   */
  keysMayTakeNull?: boolean
  /** The connected role when row-level security hides rows of `table` from it (PostgreSQL); null when it sees every row. */
  rowSecurityRole?(knex: Knex, table: string): Promise<string | null>
  /** The planner's row estimate for a query, where counting would be costly; null when unknown. */
  estimateRows?(knex: Knex, query: Knex.QueryBuilder): Promise<number | null>
  /** The worst replica's replay lag in ms; null when unknown. */
  replicationLagMs?(knex: Knex): Promise<number | null>
  /**
   * Optional: where the tracking tables are as this connection sees them, past what the role may
   * see (PostgreSQL: unqualified names resolve by search_path, and information_schema hides tables
   * the role has no privilege on). `probe`: the table that says a set exists; `tables`: those whose
   * privileges count. Without it (SQLite: one schema per file), knex's hasTable answers.
   */
  trackingLocation?(db: Knex | Knex.Transaction, probe: string, tables: readonly string[]): Promise<TrackingLocation>
}

/** Where the tracking tables are, from the catalog (see `trackingLocation`). */
export interface TrackingLocation {
  /** The connected role. */
  role: string
  /** Where unqualified names go and new tables are made (current_schema()); null when no schema is. */
  schema: string | null
  /** The connection's search_path as set, for messages. */
  searchPath: string
  /** Tables of `tables` in `schema`, whoever may see them, and what the role may do with each (`write`: INSERT and UPDATE; DELETE only cleanup needs). */
  present: { table: string; owner: string; read: boolean; write: boolean }[]
  /** Other schemas holding `probe`, those on the search path first; `usable`: the role has USAGE on it. */
  elsewhere: { schema: string; onPath: boolean; usable: boolean }[]
}

/** Coordination of many runners: one clock, liveness, wake-ups. */
export interface DialectCoordination {
  /**
   * The database's clock in epoch ms, as SQL. Liveness compares heartbeats written by
   * many machines: one clock for all of them, so a host with a skewed clock is not
   * taken for dead (or alive) by the others.
   */
  clockMs(knex: Knex): Knex.Raw

  // Optional: without them liveness falls back to heartbeats and wake-ups to polling.
  /** A session held by each runner process: marks its workers alive and hears control changes. */
  openPresence?(knex: Knex, onControl: (runName: string) => void): Promise<Presence>
  /** False once the database session that marked `workerId` alive is gone. */
  isWorkerConnected?(knex: Knex, workerId: string): Promise<boolean>
  /** Wakes every listening runner at once after a control change. */
  notifyControl?(knex: Knex, runName: string): Promise<void>
}

/**
 * Refuses app writes on guarded tables with triggers: catalog objects, so connections
 * already open see them at once, and once dropped nothing stays in the write path.
 */
export interface ReadOnlyGuard {
  /** First statement of a toggle's transaction: its DDL must never make the app queue behind it. */
  beginToggle(trx: Knex.Transaction, lockTimeoutMs: number): Promise<void>
  /** Every user table (never `evolve_*`), named the way `tableColumns` takes them. */
  userTables(db: Knex | Knex.Transaction): Promise<string[]>
  /**
   * Optional: the tables guarding `tables` guards, named as `userTables` names them: each with every
   * table whose rows are part of its rows (PostgreSQL: its partitions, recursively). Stored and shown
   * as the guarded tables, so the app's switch and `status` say what is refused. Where missing, `tables`.
   */
  coveredTables?(db: Knex | Knex.Transaction, tables: string[]): Promise<string[]>
  /**
   * Optional: why `install` would refuse to guard `tables` before adding anything (PostgreSQL: the role
   * could not take the guard off again), or null. For `evolve plan` of a `mode: 'readonly'` migration.
   */
  refusal?(db: Knex | Knex.Transaction, tables: string[]): Promise<string | null>
  /** Makes every INSERT/UPDATE/DELETE (and TRUNCATE) on `tables` fail with `message`, unless the bypass shows `token`. */
  install(trx: Knex.Transaction, tables: string[], message: string, token: string): Promise<void>
  /** Drops every guard trigger on every table. */
  removeAll(trx: Knex.Transaction): Promise<void>
  /** Runs `fn` with the writes of transaction `trx` let through the guard. */
  bypass<T>(trx: Knex.Transaction, token: string, fn: () => Promise<T>): Promise<T>
  /** True for the refusal `install`'s triggers raise. */
  isRefusal(err: unknown): boolean
  /** The operator's message such a refusal carries (what `install` was given), or null for any other error. */
  refusalMessage(err: unknown): string | null
  /** Tells every listener, on commit of `trx`, that the switch changed. */
  notify?(trx: Knex.Transaction): Promise<void>
  /** Hears changes made by any process; where missing, apps poll. */
  listen?(knex: Knex, onChange: () => void): Promise<{ close(): Promise<void> }>
}

export interface Presence {
  markAlive(workerId: string): Promise<void>
  markGone(workerId: string): Promise<void>
  close(): Promise<void>
}
