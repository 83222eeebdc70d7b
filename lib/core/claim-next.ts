import type { Knex } from 'knex'
import type { Batch, BatchBounds } from '../store/batches.ts'
import { RATE_WINDOW_MS, type RateBudget, type ThrottleDecision, queuedFits, rangeKeys, rateBudget } from './throttle.ts'
import { decodeKey, encodeKey } from '../store/db.ts'
import type { Run } from '../store/runs.ts'
import type { WorkerContext } from './context.ts'
import { deadOwners, localWorkers } from './liveness.ts'
import { nextBoundary, pendingQuery } from './planner.ts'
import { claimAlone, isSuspect } from './solo.ts'

export type NextStep =
  // planned: a new range spanning the full size asked for; trimmed: one spanning in full the fewer rows a rate limit left
  | { kind: 'batch'; batch: Batch; planned?: boolean; trimmed?: boolean }
  | { kind: 'hold'; decision: ThrottleDecision } // a new range would exceed the rate limit
  | { kind: 'again' } // lost a race with another worker: look again
  | { kind: 'wait' } // others hold the last batches: wait for them to finish (or die)
  | { kind: 'finalize' } // the pass is complete

/**
 * Finds this worker's next batch: a pending one (split or re-driven), one a dead
 * worker left behind, or a new key range past the run's cursor. Every claim is a
 * compare-and-set, so workers in any number of processes never share a batch.
 */
export async function claimNext(ctx: WorkerContext, run: Run, size: number, openBatches?: Batch[]): Promise<NextStep> {
  const { store } = ctx
  // Look before claiming: nearly every turn finds no pending batch, and the list costs one read
  // where a claim attempt is a write. A pending batch is made in the same transaction that ends or
  // narrows a claimed one, so the list always shows one or the other. The turn usually read it
  // with the run (readTurn).
  const open = openBatches ?? (await store.batches.findOpen(ctx.knex, run.name))
  // A claim of ours with no batch running means an attempt escaped with an error: take it up again.
  const mine = open.find((b) => b.state === 'claimed' && b.owner === ctx.workerId)
  if (mine) {
    const step = { kind: 'batch' as const, batch: mine }
    return isSuspect(mine) ? claimAlone(ctx, mine.id, async () => step) : step
  }
  const queued = open.find((b) => b.state === 'pending') // the oldest: the list is in id order
  if (queued) return isSuspect(queued) ? claimAlone(ctx, queued.id, () => claimQueued(ctx, run, queued)) : claimQueued(ctx, run, queued)
  const others = open.filter((b) => b.state === 'claimed' && b.owner !== ctx.workerId)
  // Siblings in this process are alive by definition: only other processes' claims are looked up.
  const suspects = others.filter((b) => !localWorkers.has(b.owner!))
  if (suspects.length > 0) {
    const dead = await deadOwners(
      ctx.knex,
      store,
      suspects.map((b) => b.owner!),
      ctx.options.leaseMs,
    )
    // A batch its worker died in is suspect (solo.ts): taken over once this process's other workers left theirs.
    const [orphan] = suspects.filter((b) => dead.has(b.owner!))
    if (orphan) return claimAlone(ctx, orphan.id, () => takeOver(ctx, run, orphan))
  }
  if (!run.scanDone) return claimNewRange(ctx, run, size)
  return others.length > 0 ? { kind: 'wait' } : { kind: 'finalize' }
}

/** Claims a batch whose worker died: the claim counts that death (execute-batch.ts splits a batch after a few). */
async function takeOver(ctx: WorkerContext, run: Run, batch: Batch): Promise<NextStep> {
  // Lost to another worker, or no longer the dead worker's: look again.
  if (!(await ctx.store.batches.claim(ctx.knex, batch, ctx.workerId))) return { kind: 'again' }
  ctx.events.emit('batch:takeover', { run: run.name, batchId: batch.id, from: batch.owner!, worker: ctx.workerId })
  return { kind: 'batch', batch: { ...batch, owner: ctx.workerId, state: 'claimed', attempts: batch.attempts + 1 } }
}

/** What a worker's turn starts from: the run and its open batches, in one read. */
export async function readTurn(ctx: WorkerContext): Promise<{ run?: Run; open?: Batch[] }> {
  return (await ctx.store.runs.getWithOpenBatches(ctx.knex, ctx.migration.name)) ?? {}
}

async function claimNewRange(ctx: WorkerContext, run: Run, size: number): Promise<NextStep> {
  const m = ctx.migration
  const limit = ctx.options.maxRowsPerSecond
  // Under a rate limit a range takes what is left of the second's budget, in rows evolved: it spans
  // as many keys as the rows left are expected in (rangeKeys). Where `pending` matches one row in ten
  // that is ten keys a row; counted in keys, such a run evolved a tenth of the limit. A remnant
  // smaller than the smallest batch waits for the next claim to leave the window, and joins it.
  let want = size
  if (limit !== undefined) {
    const budget = await readBudget(ctx, ctx.knex, run, limit)
    want = rangeKeys(budget, size)
    if (want < Math.min(size, ctx.options.minBatchSize)) return rateHold(limit, budget.freesInMs)
  }
  const after = run.cursor === null ? undefined : decodeKey(run.cursor)
  // Planned outside the transaction so no lock is held while the key index is walked. A sweep's
  // boundary reads `pending` across the table: under evolvekit's limits, not the role's.
  const sweep = run.phase === 'sweep'
  const boundary = sweep
    ? await ctx.dialect.readSnapshot(ctx.knex, (trx) => nextBoundary(trx, m, after, want, true), m)
    : await nextBoundary(ctx.knex, m, after, want, false)
  // `state`: a pause or cancel that landed since this turn read the run makes the claim miss,
  // and the next turn sees it; otherwise one more batch would start after the pause.
  const expected = { state: 'running' as const, cursor: run.cursor, scanDone: false, phase: run.phase, sweepPass: run.sweepPass }
  if (!boundary) {
    await ctx.store.runs.update(ctx.knex, run.name, { scanDone: true }, expected)
    return { kind: 'again' }
  }
  const bounds = { lo: after, hi: boundary.key }
  const cursor = { cursor: encodeKey(boundary.key) }
  // A range the budget cut short is timed apart (BatchSizer.observeTrimmed): it is not a batch of the size.
  const planned = boundary.full && want === size
  const trimmed = boundary.full && want < size
  try {
    return limit === undefined && ctx.dialect.dataModifyingWith
      ? await claimAtOnce(ctx, run, ctx.store.runs.updateQuery(ctx.knex, run.name, cursor, expected), bounds, size, planned)
      : await ctx.knex.transaction(async (trx): Promise<NextStep> => {
          // The compare-and-set lines claimers up on the run row, so the rate check below sees
          // every other worker's claims: N workers share one limit.
          if (!(await ctx.store.runs.update(trx, run.name, cursor, expected))) return { kind: 'again' }
          if (limit !== undefined) {
            // Planned the same way from what the window holds now: it still fits, or another worker spent it.
            if (rangeKeys(await readBudget(ctx, trx, run, limit), want) < want) throw RATE_LIMITED
          }
          const batch = await ctx.store.batches.insert(trx, run.name, run.phase, bounds, ctx.workerId, want)
          return { kind: 'batch', batch, planned, trimmed }
        })
  } catch (err) {
    if (err !== RATE_LIMITED) throw err
    return { kind: 'again' } // another worker spent the budget since it was read: look again
  }
}

/**
 * Under a rate limit, a batch from the pending queue (a split half, a retry batch, a released claim,
 * the rest of one the byte cap cut short) waits for the budget as a new range does, counted by the
 * rows it holds that are pending now; running, it holds that much of the budget (rateBudget).
 * Without this, a run whose batches keep splitting evolved its halves past the limit.
 */
async function claimQueued(ctx: WorkerContext, run: Run, queued: Batch): Promise<NextStep> {
  const limit = ctx.options.maxRowsPerSecond
  if (limit === undefined) {
    // The oldest pending batch, whichever it is by now; a suspect one by its id: it is the one that waited to run alone.
    const id = isSuspect(queued) ? { id: queued.id, expected: 0 } : undefined
    const pending = await ctx.store.batches.claimPending(ctx.knex, run.name, ctx.workerId, id)
    return pending ? { kind: 'batch', batch: pending } : { kind: 'again' } // another worker took it first
  }
  // A second already spent holds a batch of any size: no counting its rows on every poll until it frees.
  const now = await readBudget(ctx, ctx.knex, run, limit)
  if (!queuedFits(now, 1)) return rateHold(limit, now.freesInMs)
  const rows = await queuedRows(ctx, queued) // read before the run row is locked: no lock waits on it
  try {
    return await ctx.knex.transaction(async (trx): Promise<NextStep> => {
      // Lines claimers up on the run row, as a new range's compare-and-set does: the budget read
      // next sees every other worker's claims.
      if (!(await ctx.store.runs.update(trx, run.name, {}, { state: 'running' }))) return { kind: 'again' }
      const budget = await readBudget(ctx, trx, run, limit)
      if (!queuedFits(budget, rows)) throw new RateHeld(budget.freesInMs)
      const batch = await ctx.store.batches.claimPending(trx, run.name, ctx.workerId, { id: queued.id, expected: rows })
      return batch ? { kind: 'batch', batch } : { kind: 'again' } // another worker took it first
    })
  } catch (err) {
    if (!(err instanceof RateHeld)) throw err
    return rateHold(limit, err.freesInMs) // rolled back: the run row is left as it was
  }
}

/** The rows a queued batch evolves if nothing changes: its keys (a retry's, whether pending or not), or its range's pending rows. */
async function queuedRows(ctx: WorkerContext, batch: Batch): Promise<number> {
  if (batch.keys) return batch.keys.length
  const row = await pendingQuery(ctx.knex, ctx.migration, batch).count({ n: '*' }).first()
  return Number(row?.n ?? 0)
}

/** Thrown to roll a queued batch's claim back when it does not fit in what is left of the second. */
class RateHeld extends Error {
  constructor(readonly freesInMs: number | null) {
    super('rate limit spent')
  }
}

/** The rows-per-second budget as the run's batches hold it now, for a new range of the run's phase. */
async function readBudget(ctx: WorkerContext, db: Knex, run: Run, limit: number): Promise<RateBudget> {
  const window = await ctx.store.rates.rateWindow(db, run.name, RATE_WINDOW_MS)
  return rateBudget(limit, window, run.phase)
}

function rateHold(limit: number, freesInMs: number | null): NextStep {
  // With only running batches holding the budget, look again soon: one finishing here wakes us sooner.
  return { kind: 'hold', decision: { source: 'rate', reason: `max ${limit} rows/s`, ms: freesInMs ?? 100 } }
}

/** The claim as one statement: the batch row is made only if the compare-and-set moved the cursor. */
async function claimAtOnce(
  ctx: WorkerContext,
  run: Run,
  cas: Knex.QueryBuilder,
  bounds: BatchBounds,
  size: number,
  full: boolean,
): Promise<NextStep> {
  const batch = await ctx.store.batches.insertIf(ctx.knex, cas.returning('name'), run.name, run.phase, bounds, ctx.workerId, size)
  return batch ? { kind: 'batch', batch, planned: full } : { kind: 'again' }
}

/** Thrown to roll the claim back (cursor included) when the rate limit was spent meanwhile. */
const RATE_LIMITED = new Error('rate limit spent')
