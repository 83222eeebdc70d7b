import type { Knex } from 'knex'
import type { Dialect } from '../dialects/dialect.ts'
import type { RateBatch, RateWindow } from '../store/batch-rates.ts'
import type { Store } from '../store/store.ts'

/** What a user's throttle hook may answer: false/null = go on, true or a reason = hold back. */
export type ThrottleAnswer = boolean | null | undefined | { reason: string; ms?: number }

export interface ThrottleOptions {
  /** Called before every batch; e.g. look at your own queue depth or error rate. */
  throttle?: () => ThrottleAnswer | Promise<ThrottleAnswer>
  /**
   * Upper bound on rows evolved per second, across every worker of the run: the ranges claimed in
   * any one second evolve at most about this many rows together (see rateBudget).
   */
  maxRowsPerSecond?: number
  /** Hold back while the worst replica lags more than this (PostgreSQL). */
  maxReplicationLagMs?: number
  /** Hold back while the app's latency is above this: from `latencyProbe`, or as reported by `reportAppLatency`. */
  maxAppLatencyMs?: number
  /** SQL timed as a stand-in for the app's latency, e.g. a typical point read. */
  latencyProbe?: string
}

export type ThrottleSource = 'hook' | 'rate' | 'replication_lag' | 'app_latency'

/**
 * Which throttled events are the same hold, for logs and the UI that fold repeats into one line: one
 * source, and for the app's hook one reason too. The built-in sources' reasons carry live figures
 * (`replication lag 1234 ms > 1000 ms`) and differ every time though the hold is the same.
 */
export function throttleHold(e: { source: string; reason: string }): string {
  return e.source === 'hook' ? `hook: ${e.reason}` : e.source
}

/** What the throttle reads: a worker's context has all of it. */
export interface ThrottleContext {
  knex: Knex
  store: Store
  dialect: Dialect
  options: ThrottleOptions
}

export interface ThrottleDecision {
  source: ThrottleSource
  reason: string
  ms: number
}

export const APP_LATENCY_KEY = 'app_latency_ms'
const REPORT_FRESH_MS = 10_000
const DEFAULT_HOLD_MS = 1_000

/** The window a rows-per-second limit counts claims in. */
export const RATE_WINDOW_MS = 1000

/**
 * Rows evolved per planned key in the run's recent ranges of `phase`: with `pending` matching 10 %
 * of a table, about 0.1. A sweep plans its ranges in pending rows already (planner.ts), so its
 * density stays near 1, and a scan's does not carry over to it. 1 until a range of the phase
 * finished: the first range then evolves at most what is left.
 */
export function pendingDensity(window: RateWindow, phase: string): number {
  const ranges = window.recent.filter((b) => b.phase === phase && b.state === 'done' && b.planned > 0)
  if (ranges.length === 0) return 1
  return ranges.reduce((s, b) => s + (b.rows ?? 0), 0) / ranges.reduce((s, b) => s + b.planned, 0)
}

export interface RateBudget {
  /** Rows left of the second's budget (negative once a batch evolved more than its estimate). */
  left: number
  /** No batch claimed in the window, none running: the whole budget, for a batch of any size. */
  idle: boolean
  /** Rows per planned key for a new range of the phase asked about (pendingDensity). */
  density: number
  /** When the oldest claim of the window leaves it; null when only running batches hold the budget. */
  freesInMs: number | null
}

/**
 * What is left of a rows-per-second limit, in rows evolved: a batch counts from its claim until a
 * second has passed and it has finished; finished, by the rows it evolved; running, by an estimate:
 * a batch from the pending queue by the rows it was expected to evolve (queuedFits), a new range by
 * its planned keys × the density of its phase. A new range of `phase` estimated the same way and
 * taking at most what is left keeps the claims of any one second within the limit, but for what the
 * ranges still running at its last claim evolve beyond their estimates (docs/configuration.md).
 */
export function rateBudget(limit: number, window: RateWindow, phase: string): RateBudget {
  const running = (c: RateBatch) => (c.expected ? c.expected : c.planned * pendingDensity(window, c.phase))
  const spent = window.claims.reduce((sum, c) => sum + (c.rows ?? running(c)), 0)
  const inWindow = window.claims.filter((c) => c.claimedAt > window.now - RATE_WINDOW_MS)
  const oldest = Math.min(...inWindow.map((c) => c.claimedAt))
  return {
    left: limit - spent,
    idle: window.claims.length === 0,
    density: pendingDensity(window, phase),
    freesInMs: inWindow.length > 0 ? Math.max(1, oldest + RATE_WINDOW_MS - window.now) : null,
  }
}

/**
 * Keys a new range may span: as many as the rows left are expected in (left ÷ density), at most
 * `size`, the batch the sizer wants; 0 when nothing is left.
 */
export function rangeKeys(budget: RateBudget, size: number): number {
  if (budget.left <= 0) return 0
  if (budget.density <= 0) return size // recent ranges evolved nothing: only the size bounds it
  return Math.min(size, Math.floor(budget.left / budget.density))
}

/**
 * Whether a batch from the pending queue (a split half, a retry batch, a released claim, the rest
 * of one the byte cap cut short), expected to evolve `rows`, may start: when they fit in what is
 * left. Its size is its own, not the budget's to plan: one bigger than what a second leaves
 * waits for a window with nothing in it, and then runs (it is never starved: while a queued batch
 * waits, no new range is claimed, claimNext).
 */
export function queuedFits(budget: RateBudget, rows: number): boolean {
  return rows <= Math.max(0, budget.left) || budget.idle
}

/**
 * The first throttle source that says "hold back", or null. (The rows-per-second limit
 * is enforced where ranges and queued batches are claimed, see claim-next.ts.)
 */
export async function checkThrottle(ctx: ThrottleContext): Promise<ThrottleDecision | null> {
  const o = ctx.options
  if (o.throttle) {
    const answer = await o.throttle()
    if (answer === true) return { source: 'hook', reason: 'throttle hook', ms: DEFAULT_HOLD_MS }
    if (answer && typeof answer === 'object') return { source: 'hook', reason: answer.reason, ms: answer.ms ?? DEFAULT_HOLD_MS }
  }
  if (o.maxReplicationLagMs !== undefined && ctx.dialect.replicationLagMs) {
    const lag = await ctx.dialect.replicationLagMs(ctx.knex)
    if (lag !== null && lag > o.maxReplicationLagMs)
      return {
        source: 'replication_lag',
        reason: `replication lag ${Math.round(lag)} ms > ${o.maxReplicationLagMs} ms`,
        ms: DEFAULT_HOLD_MS,
      }
  }
  if (o.maxAppLatencyMs !== undefined) {
    const latency = await appLatency(ctx)
    if (latency !== null && latency > o.maxAppLatencyMs)
      return { source: 'app_latency', reason: `app latency ${Math.round(latency)} ms > ${o.maxAppLatencyMs} ms`, ms: DEFAULT_HOLD_MS }
  }
  return null
}

async function appLatency(ctx: ThrottleContext): Promise<number | null> {
  if (ctx.options.latencyProbe) {
    const started = performance.now()
    await ctx.knex.raw(ctx.options.latencyProbe)
    return performance.now() - started
  }
  return reportedAppLatency(ctx.knex, ctx.store)
}

/** The latency the app reported with `reportAppLatency` in the last 10 s, or null. */
export async function reportedAppLatency(knex: Knex, store: Store): Promise<number | null> {
  if (!(await store.has(knex))) return null
  const reported = await store.control.get(knex, APP_LATENCY_KEY)
  if (!reported?.value || reported.ageMs > REPORT_FRESH_MS) return null
  return Number(reported.value)
}
