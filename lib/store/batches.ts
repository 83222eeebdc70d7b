import type { Knex } from 'knex'
import type { Dialect } from '../dialects/dialect.ts'
import { type Batch, type BatchBounds, boundsColumns, toBatch } from './batch-row.ts'
import { type BatchTotals, tallyTotals } from './batch-totals.ts'
import { type Db, decodeKey, num } from './db.ts'
import { TABLES } from './schema.ts'

// The row type lives in batch-row.ts; re-exported so the core keeps importing it from the batches table's module.
export type { Batch, BatchBounds } from './batch-row.ts'

/**
 * For a claim's WHERE: the run is running. A pause or cancel that landed since the worker
 * looked at the run then makes the claim miss, and no batch starts after it.
 */
const runIsRunning = (db: Db, runName: string) => db(TABLES.runs).select('name').where({ name: runName, state: 'running' })

/** The batches table: claims, fencing, results and the totals `status` shows. */
export class BatchesStore {
  constructor(private readonly dialect: Dialect) {}

  async insert(
    db: Db,
    runName: string,
    phase: Batch['phase'],
    bounds: BatchBounds,
    owner: string | null,
    planned?: number,
  ): Promise<Batch> {
    const [row] = await db(TABLES.batches)
      .insert(this.newRow(db, runName, phase, bounds, owner, planned))
      .returning('*')
    return toBatch(row)
  }

  /**
   * `insert`, done only if `guard` (an UPDATE … RETURNING, such as the run cursor's compare-and-set)
   * changes a row, in one statement, so the two commit together with no transaction around them.
   * undefined when the guard changed nothing. Needs `dialect.dataModifyingWith`.
   */
  async insertIf(
    db: Db,
    guard: Knex.QueryBuilder,
    runName: string,
    phase: Batch['phase'],
    bounds: BatchBounds,
    owner: string,
    planned?: number,
  ): Promise<Batch | undefined> {
    const values = this.newRow(db, runName, phase, bounds, owner, planned)
    const columns = Object.keys(values)
    const { sql, bindings } = guard.toSQL()
    const { rows } = await db.raw(
      `WITH guard AS (${sql}) INSERT INTO ?? (${columns.map(() => '??').join(', ')}) SELECT ${columns.map(() => '?').join(', ')} FROM guard RETURNING *`,
      [...bindings, TABLES.batches, ...columns, ...Object.values(values)],
    )
    return rows[0] ? toBatch(rows[0]) : undefined
  }

  private newRow(db: Db, runName: string, phase: Batch['phase'], bounds: BatchBounds, owner: string | null, planned?: number) {
    const now = this.dialect.clockMs(db)
    return {
      run_name: runName,
      phase,
      planned: planned ?? null,
      ...boundsColumns(bounds),
      state: owner ? 'claimed' : 'pending',
      owner,
      created_at: now,
      claimed_at: owner ? now : null,
    }
  }

  /**
   * Claims the oldest pending batch in one statement. On PostgreSQL the subquery skips
   * locked rows, so many workers claim side by side without queueing. `queued`: claims that batch
   * instead, the one a rate limit's budget was checked for, with the rows it is `expected` to
   * evolve: its rows column holds them until it finishes, for the budget (batch-rates.ts).
   */
  async claimPending(db: Db, runName: string, owner: string, queued?: { id: number; expected: number }): Promise<Batch | undefined> {
    const oldest = this.dialect.skipLocked(
      db(TABLES.batches).select('id').where({ run_name: runName, state: 'pending' }).orderBy('id').limit(1),
    )
    // `id = (scalar subquery)` runs the subquery once. With `id IN (…)` PostgreSQL may re-run it
    // per row, and SKIP LOCKED then hands out a second batch in the same statement.
    const [row] = await db(TABLES.batches)
      .where('id', queued?.id ?? oldest)
      .where({ state: 'pending' })
      .whereExists(runIsRunning(db, runName))
      .update({ state: 'claimed', owner, claimed_at: this.dialect.clockMs(db), rows: queued?.expected ?? 0 })
      .returning('*')
    return row ? toBatch(row) : undefined
  }

  /**
   * Takes a batch whose owner is dead, for `owner`. Fenced by compare-and-set on the old owner.
   * Counts an attempt: the dead owner's own count rolled back with its transaction, and a batch
   * that keeps killing its workers must show it (execute-batch.ts splits it).
   */
  async claim(db: Db, batch: Batch, owner: string): Promise<boolean> {
    const query = db(TABLES.batches).where({ id: batch.id, state: batch.state }).whereExists(runIsRunning(db, batch.runName))
    if (batch.owner === null) query.whereNull('owner')
    else query.where({ owner: batch.owner })
    const updated = await query.update({ state: 'claimed', owner, claimed_at: this.dialect.clockMs(db), attempts: db.raw('attempts + 1') })
    return updated === 1
  }

  /** Batches no live worker is working on: pending ones, and claims whose owners may be dead. */
  async findOpen(db: Db, runName: string): Promise<Batch[]> {
    const rows = await db(TABLES.batches).where({ run_name: runName }).whereIn('state', ['pending', 'claimed']).orderBy('id')
    return rows.map(toBatch)
  }

  /**
   * First statement of every batch transaction. It checks the claim is still ours and,
   * being a write, takes the row lock (PostgreSQL) or the write lock (SQLite) that fences
   * out a worker taking the batch over until we commit or roll back. `settings` is the dialect's
   * `batchSettings`, evaluated on the batch row before the lock is waited for.
   */
  async fence(db: Db, batchId: number, owner: string, settings?: Knex.Raw): Promise<boolean> {
    const query = db(TABLES.batches).where({ id: batchId, owner, state: 'claimed' })
    // The dialect's batch settings ride along (see Dialect.batchSettings): one round trip fewer.
    if (settings) query.where(settings)
    const updated = await query.increment('attempts', 1)
    return updated === 1
  }

  async finish(
    db: Db,
    batchId: number,
    result: { state: 'done' | 'split' | 'failed'; rows: number; retries: number; durationMs: number; error?: string },
  ): Promise<void> {
    await db(TABLES.batches)
      .where({ id: batchId })
      .update({
        state: result.state,
        rows: result.rows,
        retries: result.retries,
        duration_ms: Math.round(result.durationMs),
        error: result.error ?? null,
        // The database's clock, so rate windows agree across machines.
        finished_at: this.dialect.clockMs(db),
      })
  }

  /**
   * Narrows a claimed batch to the part it evolved (the rest was queued as a batch of its own). Its
   * planned keys no longer describe it: left out of a rate limit's density of pending rows.
   */
  async narrow(db: Db, batchId: number, bounds: BatchBounds): Promise<void> {
    await db(TABLES.batches)
      .where({ id: batchId })
      .update({ ...boundsColumns(bounds), planned: 0 })
  }

  /** Gives a live worker's unfinished claims back, so others can take them at once. */
  async releaseClaims(db: Db, owner: string): Promise<void> {
    await db(TABLES.batches).where({ owner, state: 'claimed' }).update({ state: 'pending', owner: null })
  }

  /** Sets the attempts a batch starts from: the halves of one that killed its workers inherit the suspicion. */
  async setAttempts(db: Db, batchId: number, attempts: number): Promise<void> {
    await db(TABLES.batches).where({ id: batchId }).update({ attempts })
  }

  /**
   * Rows the scan batches of a run have evolved, in committed batches. Read in one snapshot with
   * the rows still pending, it gives back the rows that were pending when the run started, however
   * many batches commit meanwhile (lib/core/estimate-total.ts). Sweeps are left out: they evolve
   * rows written in the old shape after the start.
   */
  async scanRowsDone(db: Db, runName: string): Promise<number> {
    const row = await db(TABLES.batches).where({ run_name: runName, phase: 'scan', state: 'done' }).sum({ rows: 'rows' }).first()
    return num(row?.rows)
  }

  /** What `status` shows of a run's batches (batch-totals.ts says how rows are counted). */
  async totals(db: Db, runName: string): Promise<BatchTotals> {
    const rows = await db(TABLES.batches)
      .where({ run_name: runName })
      .select('state', 'phase')
      .count({ n: '*' })
      .sum({ rows: 'rows', retries: 'retries' })
      .max({ last: 'finished_at' })
      .groupBy('state', 'phase')
    return tallyTotals(rows as Record<string, unknown>[])
  }

  /** The keys of a run's retry batches not finished yet (pending, or claimed by a worker): queued for a retry already. */
  async openRetryKeys(db: Db, runName: string): Promise<unknown[]> {
    const rows = await db(TABLES.batches)
      .where({ run_name: runName, phase: 'retry' })
      .whereIn('state', ['pending', 'claimed'])
      .select('keys')
    return rows.flatMap((r: { keys: unknown }) => (r.keys == null ? [] : (decodeKey(String(r.keys)) as unknown[])))
  }
}
