import type { Knex } from 'knex'
import type { Dialect } from '../dialects/dialect.ts'
import type { SnapshotPreflight } from '../dialects/snapshot-ddl.ts'
import { decodeKey, encodeKey } from '../store/db.ts'
import { storeFor } from '../store/store.ts'
import type { Migration } from './migration.ts'
import { keyName } from './keys.ts'
import { batchQuery, countPending, lockedRowsQuery, nextBoundary, setUpdateQuery } from './planner.ts'

export interface PlanDescription {
  name: string
  description: string | null
  mode: Migration['mode']
  table: string
  key: string
  state: string
  /** Null for a done migration: its table is not looked at (it may have changed since). */
  rows: number | null
  pending: number
  /** The starting batch size: `--batch-size`, else what a resumed run has learned, else the migration's. */
  batchSize: number
  /**
   * About how many batches are left at `batchSize`. Without a fixed size that is the starting size
   * only: the runner sizes batches by time (toward its target duration) and caps them by bytes.
   */
  batches: number
  firstBatch: { range: string; sql: string[] } | null
  /** `mode: 'readonly'`: the app's writes to the table are refused while it runs. */
  readOnly: boolean
  /** `mode: 'readonly'`: why `run` would be refused turning read-only on for the table (PostgreSQL: a role that could not turn it off again), or null. */
  readOnlyRefusal?: string | null
  /** How the file differs from what its run started with (`table users → accounts`, `its code`), or null: see RunProgress.fileChanged. */
  fileChanged?: string | null
  /** The started run with no file here this migration looks like a rename of, or null: see RunProgress.renamedFrom. */
  renamedFrom?: string | null
  /** Snapshot mode: every dependent object and what the swap does with it, what it refuses, the extra disk. */
  snapshot?: SnapshotPreflight
}

/**
 * What `run` would do next for one migration, without doing any of it: reads only,
 * and never creates the tracking tables.
 */
export async function describePlan(knex: Knex, dialect: Dialect, m: Migration, fixedBatchSize?: number): Promise<PlanDescription> {
  const store = storeFor(knex)
  const run = (await store.has(knex)) ? await store.runs.get(knex, m.name) : undefined
  // The size a resumed run has learned is the size its next batches will have.
  const batchSize = fixedBatchSize ?? run?.batchSize ?? m.batchSize
  const about = {
    name: m.name,
    description: m.description,
    mode: m.mode,
    table: m.table,
    key: keyName(m),
    batchSize,
    readOnly: m.readOnly === true,
  }
  if (run?.state === 'done') return { ...about, state: 'done', rows: null, pending: 0, batches: 0, firstBatch: null }
  const after = run?.cursor ? decodeKey(run.cursor) : undefined
  const sweeping = run?.phase === 'sweep'
  const scanFinished = run?.scanDone || ['done', 'failed'].includes(run?.state ?? '')
  // Under evolvekit's limits, not the role's (Dialect.readSnapshot), as a run's own counts are: a
  // statement_timeout meant for the app cancelled these on any table of size, and plan with them.
  const { rows, pending, left, hi } = await dialect.readSnapshot(
    knex,
    async (trx) => {
      const rows = await count(batchQuery(trx, m, {}, false))
      return {
        rows,
        pending: m.pending ? await countPending(trx, m) : rows,
        left: await count(batchQuery(trx, m, { lo: after }, sweeping)),
        hi: scanFinished ? undefined : (await nextBoundary(trx, m, after, batchSize, sweeping))?.key,
      }
    },
    m,
  )
  return {
    ...about,
    ...(m.readOnly ? { readOnlyRefusal: await readOnlyRefusal(knex, dialect, m.table) } : {}),
    state: run?.state ?? 'pending',
    rows,
    pending,
    batches: scanFinished ? 0 : Math.ceil(left / batchSize),
    firstBatch:
      hi === undefined || hi === null
        ? null
        : { range: rangeText(keyName(m), after, hi), sql: batchSql(knex, dialect, m, { lo: after, hi }) },
  }
}

/** What turning read-only on for `table` (and what guarding it covers: partitions) would be refused for, before anything is added. */
async function readOnlyRefusal(knex: Knex, dialect: Dialect, table: string): Promise<string | null> {
  const guard = dialect.readOnlyGuard
  if (!guard?.refusal) return null
  return guard.refusal(knex, (await guard.coveredTables?.(knex, [table])) ?? [table])
}

function batchSql(knex: Knex, dialect: Dialect, m: Migration, bounds: { lo: unknown; hi: unknown }): string[] {
  const tx = ['BEGIN', '-- the claim is fenced, with per-batch lock and statement timeouts']
  if (m.mode === 'set') return [...tx, setUpdateQuery(knex, knex, m, bounds).toString(), 'COMMIT']
  const select = lockedRowsQuery(knex, dialect, m, bounds).toString()
  const work = m.mode === 'up' ? '-- up(rows, ctx) runs here, on ctx.trx' : dialect.writeBackTemplate(m.table, m.key, ['<changed columns>'])
  return [...tx, select, work, '-- the batch row is marked done in the same transaction', 'COMMIT']
}

function rangeText(key: string, lo: unknown, hi: unknown): string {
  return lo === undefined ? `${key} <= ${encodeKey(hi)}` : `${encodeKey(lo)} < ${key} <= ${encodeKey(hi)}`
}

async function count(query: Knex.QueryBuilder): Promise<number> {
  const row = await query.count({ n: '*' }).first()
  return Number(row?.n ?? 0)
}
