import pRetry from 'p-retry'
import { EvolveUsageError, LostClaimError } from '../errors.ts'
import type { Batch } from '../store/batches.ts'
import type { Knex } from 'knex'
import { encodeKey } from '../store/db.ts'
import type { Taken } from '../store/failures.ts'
import { pendingKeys, withoutFailed } from './planner.ts'
import type { WorkerContext } from './context.ts'
import { applyMigration } from './apply-migration.ts'
import { failRun, isolateFailure, recordThrown, stopIfTooManyFailures } from './isolate-failure.ts'
import { type Prefetched, stillCurrent } from './prefetch.ts'

/**
 * A batch whose worker died in it this many times (each death is a takeover, counted in its
 * attempts: batches.ts claim) is split like a failing one. A row that crashes the process (out of
 * memory, a native module's crash, a transform calling process.exit) would otherwise kill every
 * worker that takes the batch over, for ever. The halves start one death short of the limit, so
 * the half still holding the row is split at its next death: about one death per halving.
 */
export const WORKER_DEATHS_BEFORE_SPLIT = 3

/**
 * Evolves one claimed batch. Data change and bookkeeping commit in one transaction;
 * conflicts are retried with backoff; a row whose transform throws is recorded as failed
 * and the others are written; anything else splits the batch until the failing objects
 * are isolated (isolate-failure.ts).
 */
export async function executeBatch(
  ctx: WorkerContext,
  batch: Batch,
  carriedRetries = 0,
  rowBytesHint?: number,
  prefetched?: Prefetched,
): Promise<{ durationMs: number; rows: number; bytes: number; cut: boolean } | null> {
  const { migration: m, events } = ctx
  if (batch.attempts >= WORKER_DEATHS_BEFORE_SPLIT) {
    const error = `the process evolving it died ${batch.attempts} times (killed, out of memory, or a crash); look for what in these rows can bring the process down, then \`evolve retry ${m.name}\``
    await isolateFailure(ctx, batch, error, batch.attempts, WORKER_DEATHS_BEFORE_SPLIT - 1)
    return null
  }
  const started = performance.now()
  // Conflicts met between batches (claiming this one) count as this batch's retries.
  let retries = carriedRetries
  // Prefetched rows serve the first attempt only: a transform may have changed the row objects it
  // was given, and a retry follows a commit by someone else. Later attempts read under the lock.
  let attempts = 0
  const early = () => (prefetched && attempts++ > 0 ? { ...prefetched, stamp: null } : prefetched)
  try {
    const {
      rows,
      stuck,
      thrown,
      bytes,
      cut,
      durationMs: trxMs,
    } = await pRetry(() => attempt(ctx, batch, retries, started, rowBytesHint, early()), {
      retries: m.maxAttempts - 1,
      minTimeout: ctx.options.retryMinMs,
      maxTimeout: ctx.options.retryMaxMs,
      factor: 2,
      randomize: true,
      // Stopping (Ctrl-C, a sibling's fatal error) ends the backoff: the batch is given back.
      signal: ctx.signal,
      shouldRetry: ({ error }) => ctx.dialect.classifyError(error) !== null,
      onFailedAttempt: ({ error, attemptNumber }) => {
        const reason = ctx.dialect.classifyError(error)
        if (reason === null || attemptNumber >= m.maxAttempts) return
        retries++
        events.emit('batch:retry', {
          run: m.name,
          batchId: batch.id,
          attempt: attemptNumber,
          reason,
          error: error.message,
          worker: ctx.workerId,
        })
      },
    })
    const durationMs = performance.now() - started
    // Rows a migration leaves pending, and rows whose transform threw, count toward maxFailures.
    if (thrown) await stopIfTooManyFailures(ctx, thrown)
    else if (stuck > 0) await stopIfTooManyFailures(ctx, STUCK)
    events.emit('batch:done', { run: m.name, batchId: batch.id, phase: batch.phase, rows, durationMs, retries, worker: ctx.workerId })
    return { durationMs: trxMs, rows, bytes, cut }
  } catch (err) {
    if (err instanceof LostClaimError) return null // another worker owns it now; our transaction rolled back
    // Asked to stop between attempts: not the batch's fault. The worker leaves and releases it.
    if (ctx.signal.aborted) return null
    // The migration itself is wrong (returned-columns.ts): no row is to blame, the run stops at once.
    if (err instanceof EvolveUsageError) {
      await failRun(ctx, err.message)
      return null
    }
    // The database failed it, not a row (out of disk space, a replica): splitting would record healthy rows as failed.
    const fault = await batchFault(ctx, err)
    if (fault !== null) {
      await failRun(ctx, `${fault}; then \`evolve run ${m.name}\` resumes`)
      return null
    }
    await isolateFailure(ctx, batch, ctx.dialect.failureText(err), retries + 1)
    return null
  }
}

/**
 * What the database, not a row, is to blame for in a failed batch; null = maybe a row. An error
 * that is a fault outside a batch but may be one row's inside one (a missing privilege: also what
 * a row-level security policy refuses a row with) is the role's when no table has row-level
 * security: every row would fail alike, and splitting would record healthy rows as failed. Asked
 * at the error, not at the start, so a policy added during the run counts.
 */
async function batchFault(ctx: WorkerContext, err: unknown): Promise<string | null> {
  const fault = ctx.dialect.databaseFault(err, 'batch')
  if (fault !== null || !ctx.dialect.isMissingPrivilege(err)) return fault
  // Unknown (the catalog could not be read): left to the rows, as when a policy is in use.
  const rowSecurity = (await ctx.dialect.rowSecurityInUse?.(ctx.knex).catch(() => true)) ?? false
  return rowSecurity ? null : ctx.dialect.databaseFault(err, 'setup')
}

/** One try of the batch transaction; its own duration (without backoff) feeds the pacing. */
async function attempt(ctx: WorkerContext, batch: Batch, retries: number, started: number, rowBytesHint?: number, prefetched?: Prefetched) {
  const trxStarted = performance.now()
  const outcome = await ctx.knex.transaction((trx) => batchTransaction(trx, ctx, batch, retries, started, rowBytesHint, prefetched))
  const run = ctx.migration.name
  for (const { key, error } of outcome.thrown) ctx.events.emit('object:failed', { run, key, error, worker: ctx.workerId })
  for (const key of outcome.stuck) ctx.events.emit('object:failed', { run, key, error: STUCK, worker: ctx.workerId })
  const { rows, bytes, cut } = outcome
  // The last error of a throwing row, for the message if the run stops at maxFailures.
  const thrown = outcome.thrown.at(-1)?.error
  return { rows, bytes, cut, thrown, stuck: outcome.stillPending, durationMs: performance.now() - trxStarted }
}

/** The data change and the batch's bookkeeping: they commit together or not at all. */
async function batchTransaction(
  trx: Knex.Transaction,
  ctx: WorkerContext,
  batch: Batch,
  retries: number,
  started: number,
  rowBytesHint?: number,
  prefetched?: Prefetched,
) {
  const m = ctx.migration
  // Before the write lock is taken: see stillCurrent.
  const source = await stillCurrent(trx, ctx, prefetched)
  // Where the dialect can, the limits and the bypass ride on the fence: one statement opens the batch.
  const settings = ctx.dialect.batchSettings?.(trx, m, ctx.writeBypass?.token)
  if (!settings) await ctx.dialect.beginBatch(trx, m)
  if (!(await ctx.store.batches.fence(trx, batch.id, ctx.workerId, settings))) throw new LostClaimError(batch.id)
  // A retry batch evolves only the failed objects it can take: never one a concurrent or
  // earlier retry batch already took (two `evolve retry` would otherwise evolve it twice).
  const taken = batch.phase === 'retry' ? await ctx.store.failures.take(trx, m.name, batch.keys ?? []) : new Map<string, Taken>()
  // A sweep leaves the run's failed objects alone: they wait for `evolve retry` (planner.ts).
  const bounds =
    batch.phase === 'retry'
      ? { ...batch, keys: (batch.keys ?? []).filter((k) => taken.has(encodeKey(k))) }
      : await withoutFailed(trx, m, batch)
  // A transform's throw is caught per row (apply-migration.ts): that row is recorded, the rest written.
  const apply = () => applyMigration(trx, ctx, bounds, rowBytesHint, source)
  const bypass = settings ? undefined : ctx.writeBypass // the settings switched it on already
  const result = await (bypass ? bypass(trx, apply) : apply())
  const { bytes, cut, thrown } = result
  await recordThrown(trx, ctx, thrown, taken, retries + 1)
  const failed = new Set(thrown.map((t) => encodeKey(t.key)))
  const keys = failed.size === 0 ? result.keys : result.keys.filter((k) => !failed.has(encodeKey(k)))
  const rows = result.rows - thrown.length
  const { stuck, recorded } = batch.phase === 'scan' ? { stuck: [], recorded: [] } : await recordStuck(trx, ctx, keys, taken)
  const still = new Set(stuck.map(encodeKey))
  await ctx.store.batches.finish(trx, batch.id, {
    state: 'done',
    rows: batch.phase === 'retry' ? newlyDone(keys, still, taken) : rows,
    retries,
    durationMs: performance.now() - started,
  })
  // A swept object that evolved cleanly now is no longer a failure (a retry's were taken above).
  if (batch.phase === 'sweep') {
    await ctx.store.failures.clear(
      trx,
      m.name,
      keys.filter((k) => !still.has(encodeKey(k))),
    )
  }
  return { rows, thrown, stuck: recorded, stillPending: stuck.length, bytes, cut }
}

/**
 * The rows a retry batch adds to `done`: those it evolved cleanly, less those whose failure said
 * they still matched `pending`: a sweep or retry recorded that after the scan had evolved, and
 * counted, the row. A row counts as done once, however many passes evolve it.
 */
function newlyDone(keys: unknown[], still: Set<string>, taken: Map<string, Taken>): number {
  return keys.filter((k) => {
    const key = encodeKey(k)
    return !still.has(key) && taken.get(key)?.error !== STUCK
  }).length
}

const STUCK = 'still matches "pending" after it was evolved: the migration does not move it out of the pending set'

/**
 * Sweeps and retries check their own work: a row they evolved that still matches
 * `pending` would be swept forever, so it is recorded as failed instead. The rows are
 * still locked by this transaction, so the app cannot have changed them meanwhile.
 * Objects failed already are recorded again (counted once); new ones only until the run
 * has `maxFailures`, where it stops (the caller stops it after the commit): a batch of
 * a thousand such rows must not record a thousand. The rest stay pending, unrecorded, for
 * the run that follows a fix. Returns the keys still pending and the keys recorded.
 */
async function recordStuck(
  trx: Knex.Transaction,
  ctx: WorkerContext,
  keys: unknown[],
  taken: Map<string, Taken>,
): Promise<{ stuck: unknown[]; recorded: unknown[] }> {
  const m = ctx.migration
  if (!m.pending || keys.length === 0) return { stuck: [], recorded: [] }
  const stuck = await pendingKeys(trx, m, { keys })
  if (stuck.length === 0) return { stuck, recorded: [] }
  const failed = await ctx.store.failures.recorded(trx, m.name, stuck)
  let room = m.maxFailures - (await ctx.store.failures.count(trx, m.name))
  const recorded: unknown[] = []
  for (const key of stuck) {
    const encoded = encodeKey(key)
    // A retry's objects were failures until it took their records: they count already.
    const known = failed.has(encoded) || taken.has(encoded)
    if (!known && room-- <= 0) continue
    await ctx.store.failures.record(trx, m.name, key, STUCK, 1 + (taken.get(encoded)?.attempts ?? 0))
    recorded.push(key)
  }
  return { stuck, recorded }
}
