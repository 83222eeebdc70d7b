import type { Knex } from 'knex'
import type { Dialect } from '../dialects/dialect.ts'
import { dialectOf } from '../dialects/for-knex.ts'
import { BatchRatesStore } from './batch-rates.ts'
import { BatchesStore } from './batches.ts'
import { ControlStore } from './control.ts'
import { type Db, readClock } from './db.ts'
import { FailuresStore } from './failures.ts'
import { ReadOnlyStore } from './read-only.ts'
import { RunsStore } from './runs.ts'
import { TABLES, ensureSchema, hasSchema } from './schema.ts'
import { SnapshotsStore } from './snapshots.ts'
import { type TrackingUse, locateTracking } from './tracking-location.ts'
import { WorkersStore } from './workers.ts'

/**
 * The tracking tables, made once with their dialect: the dialect supplies the database's
 * clock and its row locks, so no caller passes them in. Every method takes `db`, a knex
 * instance or a batch's transaction, because bookkeeping commits with the data it describes.
 */
export class Store {
  readonly runs: RunsStore
  readonly batches: BatchesStore
  readonly rates: BatchRatesStore
  readonly failures: FailuresStore
  readonly workers: WorkersStore
  readonly control: ControlStore
  readonly readOnly: ReadOnlyStore
  readonly snapshots: SnapshotsStore

  constructor(readonly dialect: Dialect) {
    this.runs = new RunsStore(dialect)
    this.batches = new BatchesStore(dialect)
    this.rates = new BatchRatesStore(dialect)
    this.failures = new FailuresStore(dialect)
    this.workers = new WorkersStore(dialect)
    this.control = new ControlStore(dialect)
    this.readOnly = new ReadOnlyStore(dialect)
    this.snapshots = new SnapshotsStore(dialect)
  }

  /**
   * True when the tracking tables exist (read-only commands must not create them). Refused when
   * they exist where this connection would not see them (tracking-location.ts).
   */
  async has(knex: Knex): Promise<boolean> {
    return (await this.locate(knex, 'read')) ?? hasSchema(knex)
  }

  /**
   * Creates or upgrades the tracking tables; never a second set beside one this connection cannot
   * see. `writes`: the tables the caller writes, whose privileges are checked (default: all).
   */
  async ensure(knex: Knex, writes: readonly string[] = Object.values(TABLES)): Promise<void> {
    await this.locate(knex, 'write', writes)
    return ensureSchema(knex)
  }

  /**
   * Upgrades the tracking tables when they exist, and says whether they do. What writes them
   * (pause, cancel, revert) must: a newer evolvekit writes columns an older one never made.
   */
  async upgradeIfAny(knex: Knex): Promise<boolean> {
    if (!((await this.locate(knex, 'write')) ?? (await hasSchema(knex)))) return false
    await ensureSchema(knex)
    return true
  }

  /** The whole set, found by its runs table (made in one transaction with the others); undefined: ask knex. */
  private locate(knex: Knex, use: TrackingUse, tables: readonly string[] = Object.values(TABLES)): Promise<boolean | undefined> {
    return locateTracking(knex, this.dialect, TABLES.runs, tables, use)
  }

  /** The database's clock in epoch ms, read once. */
  now(db: Db): Promise<number> {
    return readClock(db, this.dialect)
  }
}

const stores = new WeakMap<Knex, Store>()

/** The one Store of a knex instance, made with its dialect on first use. */
export function storeFor(knex: Knex): Store {
  let store = stores.get(knex)
  if (!store) stores.set(knex, (store = new Store(dialectOf(knex))))
  return store
}
