import type { Knex } from 'knex'

/** What `up(rows, ctx)` receives besides the rows. */
export interface BatchContext {
  /** The batch's transaction: everything done through it commits with the batch's bookkeeping. */
  trx: Knex.Transaction
  /** The migration's name (its file name without extension). */
  migration: string
  batch: { id: number; lo: unknown; hi: unknown; keys: unknown[] | null }
}

// Row types are the user's business: `any` keeps transform(row) pleasant to write.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyRow = Record<string, any>

/**
 * The column names of a row type: any string for an untyped row, the row's keys for
 * `defineMigration<User>`. Never where the row type is inferred from: `columns: ['email']` must
 * not make an untyped migration's row `{ email }` (a hand-made NoInfer, for TypeScript before 5.4).
 */
export type ColumnOf<Row extends AnyRow> = keyof [Row][Row extends unknown ? 0 : never] & string

/** What `set` maps a column to: an SQL expression (or a plain value) for its new value. */
export type SetExpression = (knex: Knex) => Knex.Raw | Knex.Value

/** `set`: column → expression. Any column of an untyped row; only the row's columns for a row type. */
export type SetColumns<Row extends AnyRow> =
  string extends ColumnOf<Row> ? Record<string, SetExpression> : Partial<Record<ColumnOf<Row>, SetExpression>>

interface MigrationBase<Row extends AnyRow, Key extends ColumnOf<Row> = ColumnOf<Row>, Read extends ColumnOf<Row> = ColumnOf<Row>> {
  /** Shown by `status` and `plan`. */
  description?: string
  /** The table to evolve; `schema.table` works on PostgreSQL. */
  table: string
  /**
   * The unique key batches are cut along: one column (`'id'`, the default) of any type with an
   * order (integer, numeric, text, uuid, bytea/blob), or several for a composite key
   * (`['tenant_id', 'id']`, compared as a row value). NOT NULL, covered by a unique index.
   */
  key?: Key | readonly Key[]
  /**
   * transform/up: the columns the migration reads (besides the key, always read). Declare them
   * on tables with wide columns (documents, JSON blobs) the migration does not need: rows are
   * then read without them. Default: every column.
   */
  columns?: readonly Read[]
  /**
   * Narrows a query to the rows that still need evolving. Omit it and every row is
   * evolved once (the tracking table then remembers which key ranges are done).
   */
  pending?: (query: Knex.QueryBuilder) => Knex.QueryBuilder | void
  /** Starting batch size in rows. Default 1000. */
  batchSize?: number
  /** How long a batch may wait for a lock held by the app before it backs off and retries. Default 1000 ms. */
  lockTimeoutMs?: number
  /** Upper bound on any statement of a batch (PostgreSQL). Default 30000 ms. */
  statementTimeoutMs?: number
  /** Attempts per batch on conflicts (deadlock, lock timeout, busy…). Default 50. */
  maxAttempts?: number
  /** The run stops as `failed` once this many objects failed: the migration is likely broken. Default 100. */
  maxFailures?: number
  /** Extra passes over `pending` after the scan, for rows written in the old shape meanwhile. Default 3. */
  sweeps?: number
  /**
   * `'readonly'`: the runner turns read-only mode on for `table` when the run starts and off
   * when it is done (the app's writes are refused meanwhile, reads go on). If the runner
   * dies, read-only stays on until a rerun finishes or `evolve readonly off`.
   * `'snapshot'`: copy the table, evolve the copy at full speed while the table is read-only,
   * verify, and swap it in atomically, keeping the old table for `evolve revert`. Default `'online'`.
   */
  mode?: 'online' | 'readonly' | 'snapshot'
  /**
   * `mode: 'readonly'` or `'snapshot'`: what the app's users are told while their writes are
   * refused (the 503's message and the banner), up to 500 characters. Default: a generic
   * maintenance notice that names no migration or table.
   */
  readOnlyMessage?: string
  /** Snapshot mode: checks the evolved copy (named `table`) before the swap; return false or throw to stop it. */
  verify?: (knex: Knex, table: string) => unknown
  /** Reserved for typing the row; never set it. */
  _row?: Row
}

/** How a batch is evolved: exactly one of `transform`, `set` or `up`; `Read` is the row they are given. */
type Evolving<Row extends AnyRow, Read extends AnyRow> =
  | {
      /** Returns the changed columns of one row (or null for none); written back set-based. */
      transform: (row: Read) => Partial<Row> | null | undefined | Promise<Partial<Row> | null | undefined>
      set?: never
      up?: never
    }
  | {
      /** Column → SQL expression; the rows never leave the database. */
      set: SetColumns<Row>
      transform?: never
      up?: never
    }
  | {
      /** Free-form work on the batch's rows inside the batch transaction (`ctx.trx`). */
      up: (rows: Read[], ctx: BatchContext) => Promise<void> | void
      transform?: never
      set?: never
    }

export type MigrationDefinition<Row extends AnyRow = AnyRow> = MigrationBase<Row> & Evolving<Row, Row>

/**
 * A definition checked by `defineMigration<Row>()`: the rows `transform` and `up` receive hold only
 * what is read, the key (`'id'` unless `key` says) and the declared `columns` (every column without them).
 */
export type ReadingDefinition<Row extends AnyRow, Key extends ColumnOf<Row>, Read extends ColumnOf<Row>> = MigrationBase<Row, Key, Read> &
  Evolving<Row, Pick<Row, Key | Read>>

/** What `defineMigration<Row>()` returns: defineMigration for rows of `Row`, inferring the key and `columns`. */
export type DefineMigrationOf<Row extends AnyRow> = <
  Key extends ColumnOf<Row> = Extract<'id', ColumnOf<Row>>,
  Read extends ColumnOf<Row> = ColumnOf<Row>,
>(
  definition: ReadingDefinition<Row, Key, Read>,
) => MigrationDefinition<Row>

/**
 * Declares a migration; a migration file's default export.
 *
 * @example
 * ```ts
 * import { defineMigration } from 'evolvekit'
 * export default defineMigration({
 *   table: 'users',
 *   pending: (q) => q.whereRaw('email <> lower(email)'),
 *   transform: (row) => ({ email: row.email.toLowerCase() }),
 * })
 * ```
 */
export function defineMigration<Row extends AnyRow = AnyRow>(definition: MigrationDefinition<Row>): MigrationDefinition<Row>
/**
 * `defineMigration<Row>()({...})`: the same, and the row `transform(row)` and `up(rows)` receive
 * is typed by what is read: the key and the declared `columns`.
 *
 * @example
 * ```ts
 * interface User { id: number; email: string; profile: string }
 * export default defineMigration<User>()({
 *   table: 'users',
 *   columns: ['email'], // row: { id: number; email: string }: `profile` is not read
 *   transform: (row) => ({ email: row.email.toLowerCase() }),
 * })
 * ```
 */
export function defineMigration<Row extends AnyRow>(): DefineMigrationOf<Row>
export function defineMigration(...args: [MigrationDefinition] | []): MigrationDefinition | DefineMigrationOf<AnyRow> {
  // The typed form returns the definition as it is too: the checks are tsc's, the loader's are the same.
  return args.length === 0 ? (definition) => definition as MigrationDefinition : args[0]
}
