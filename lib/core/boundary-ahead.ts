import type { Knex } from 'knex'
import { encodeKey } from '../store/db.ts'
import type { Run } from '../store/runs.ts'
import type { WorkerContext } from './context.ts'
import { keyOf } from './keys.ts'
import { boundaryQuery } from './planner.ts'

/** The end of a new range, as `nextBoundary` finds it. */
export interface Boundary {
  key: unknown
  full: boolean
}

/**
 * A boundary search started while the batch before it runs (on another pool connection, so on
 * PostgreSQL on another core): the keys at offsets `first`..`last` past `from`. The next batch's
 * size is only known once this batch has taken its time, so the search answers every size the
 * sizer is likely to ask for, each exactly as `nextBoundary` would.
 */
interface Ahead {
  /** The run's cursor (encoded) the search starts after; it is used only while the cursor is still there. */
  from: string
  phase: Run['phase']
  sweepPass: number
  first: number
  last: number
  /** undefined when the search failed: it is then simply not used. */
  keys: Promise<unknown[] | undefined>
}

/**
 * One search per run and knex instance: the workers of one runner share it, so with several workers
 * each claim uses the search its sibling started from the range it just claimed.
 */
const searches = new WeakMap<Knex, Map<string, Ahead>>()

/**
 * Sizes the search answers, around the size just used. A batch of steady length moves the size by a
 * few percent; outside the window (the ramp-up, a batch that ran long, an operator's new size) the
 * boundary is simply searched afresh. A fixed size never moves. The window costs: its keys are walked
 * and sent while the batch works, and a wider one (0.75–1.3) slowed a 2-core machine's batches by more
 * than the searches saved, for hardly more hits (docs/benchmarks.md).
 */
const BELOW = 0.9
const ABOVE = 1.12

/** Starts searching the boundary of the range after `from`, which this worker has just claimed up to. */
export function searchAhead(ctx: WorkerContext, run: Run, from: unknown, size: number): void {
  const { options: o, migration: m } = ctx
  const fixed = o.batchSize !== undefined
  const first = fixed ? size : Math.max(1, Math.min(size, Math.floor(size * BELOW)))
  const last = fixed ? size : Math.max(size, Math.min(Math.ceil(size * ABOVE), o.maxBatchSize, o.maxRowsPerSecond ?? Infinity))
  const query = boundaryQuery(ctx.knex, m, from, first, run.phase === 'sweep').limit(last - first + 1)
  const keys = Promise.resolve(query).then(
    (rows: Record<string, unknown>[]) => rows.map((row) => keyOf(m, row)),
    () => undefined, // a failed search is not used: the claim searches afresh and meets the error itself
  )
  let byRun = searches.get(ctx.knex)
  if (!byRun) searches.set(ctx.knex, (byRun = new Map()))
  byRun.set(run.name, { from: encodeKey(from), phase: run.phase, sweepPass: run.sweepPass, first, last, keys })
}

/**
 * The boundary of the range after the run's cursor from a search started ahead, or undefined when
 * none answers this cursor and size (the caller then searches afresh). A search is used once.
 */
export async function boundaryAhead(ctx: WorkerContext, run: Run, size: number): Promise<Boundary | undefined> {
  const byRun = searches.get(ctx.knex)
  const ahead = byRun?.get(run.name)
  if (!ahead) return undefined
  byRun!.delete(run.name)
  // Settled even when it goes unused (it has usually finished during the batch): no search outlives
  // the claim that takes it, to run on while a stopping runner closes its pool.
  const keys = await ahead.keys
  const current = ahead.from === run.cursor && ahead.phase === run.phase && ahead.sweepPass === run.sweepPass
  if (!keys || !current || size < ahead.first || size > ahead.last) return undefined
  if (size - ahead.first < keys.length) return { key: keys[size - ahead.first], full: true }
  // Fewer keys than asked for: the table ends inside the window, at the last key found.
  const ended = keys.length > 0 && keys.length < ahead.last - ahead.first + 1
  return ended ? { key: keys.at(-1), full: false } : undefined
}
