import type { Knex } from 'knex'
import type { Dialect } from '../dialects/dialect.ts'
import type { Store } from '../store/store.ts'

/** What a user's throttle hook may answer: false/null = go on, true or a reason = hold back. */
export type ThrottleAnswer = boolean | null | undefined | { reason: string; ms?: number }

export interface ThrottleOptions {
  /** Called before every batch; e.g. look at your own queue depth or error rate. */
  throttle?: () => ThrottleAnswer | Promise<ThrottleAnswer>
  /**
   * Upper bound on rows evolved per second, across every worker of the run: the ranges claimed in
   * any one second span at most this many rows together (see rateBudget).
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

/** The ranges that hold a rows-per-second budget now (BatchesStore.rateWindow), read on the database's clock. */
export interface RateWindow {
  now: number
  claims: { planned: number; claimedAt: number }[]
}

/**
 * What is left of a rows-per-second limit: a range's planned rows count from its claim until a
 * second has passed and its batch has finished. The claims of any one second then never span more
 * than the limit together, and a run that takes what is left paces at the limit. `freesInMs`: when
 * the oldest claim of the window leaves it; null when only batches still running hold the budget
 * (they free it as they finish).
 */
export function rateBudget(limit: number, window: RateWindow): { left: number; freesInMs: number | null } {
  const spent = window.claims.reduce((sum, c) => sum + c.planned, 0)
  const inWindow = window.claims.filter((c) => c.claimedAt > window.now - RATE_WINDOW_MS)
  const oldest = Math.min(...inWindow.map((c) => c.claimedAt))
  return { left: limit - spent, freesInMs: inWindow.length > 0 ? Math.max(1, oldest + RATE_WINDOW_MS - window.now) : null }
}

/**
 * The first throttle source that says "hold back", or null. (The rows-per-second limit
 * is enforced where ranges are claimed, see claim-next.ts.)
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
