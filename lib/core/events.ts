import { EventEmitter } from 'node:events'
import type { RetryReason } from '../dialects/dialect.ts'
import type { RunState } from '../store/runs.ts'
import type { ReadOnlyState } from './read-only-state.ts'
import type { RunProgress } from './progress.ts'
import type { ThrottleSource } from './throttle.ts'

/**
 * What the core tells the outside world. The CLI's progress lines, logs, metrics
 * and the UI all subscribe to these; the core never prints.
 */
export interface EvolveEvents {
  /** Every change of a run's state, from any writer in this process; `by` says who asked. */
  'run:state': [{ run: string; from: RunState; to: RunState; by: string; reason: string | null }]
  /** `total` is the run's total when it was already stored (a resumed run); a new run's arrives later, in `run:total`. */
  'run:start': [{ run: string; state: RunState; total: number | null; resumed: boolean }]
  /**
   * The run's total (rows pending when it started), counted beside its first batches, was stored.
   * `total` is null and `error` says why when the count failed: the run goes on without a total.
   */
  'run:total': [{ run: string; total: number | null; error: string | null }]
  'run:skip': [{ run: string; state: RunState; reason: string }]
  /**
   * A run ended in this process's view, once: done, failed or cancelled, whether this process ended
   * it or its workers here stopped because another process did. A pause is no end, and neither is
   * a Runner's stop() (a run handle's stop()), which leaves the run to whoever serves it next.
   * `done` and `failed` count its rows evolved and objects failed; `error` says why it failed (null
   * otherwise: a cancel's reason is in `run:state`), or, for a snapshot run, what its unwind undid.
   */
  'run:end': [{ run: string; state: RunState; done: number; failed: number; error: string | null }]
  // `worker`: the id of the worker that did it (as `evolve_workers` and `evolve.workers()` name it), where several serve a run.
  'batch:done': [{ run: string; batchId: number; phase: string; rows: number; durationMs: number; retries: number; worker: string }]
  /** batchId is null for a conflict met between batches (while claiming or bookkeeping). */
  'batch:retry': [{ run: string; batchId: number | null; attempt: number; reason: RetryReason; error: string; worker: string }]
  'batch:split': [{ run: string; batchId: number; pendingRows: number; error: string; worker: string }]
  'batch:takeover': [{ run: string; batchId: number; from: string; worker: string }]
  /** A batch a process died in waits for this process's other workers (`waitingFor`) to finish theirs: it runs alone. */
  'batch:alone': [{ run: string; batchId: number; waitingFor: number; worker: string }]
  'object:failed': [{ run: string; key: unknown; error: string; worker: string }]
  /** A snapshot-mode run begins (or resumes) a step; see lib/core/snapshot/names.ts for the order. */
  'snapshot:step': [{ run: string; step: string; table: string }]
  sweep: [{ run: string; pass: number; pending: number }]
  throttled: [{ run: string; source: ThrottleSource; reason: string; ms: number }]
  /** A progress tick for one run, from the admin layer's watch (at most one a second per run by default). */
  progress: [RunProgress]
  /** The admin layer's watch could not read the database this time; it tries again. */
  'watch:error': [{ error: string }]
  /** The read-only switch changed: by this process, or (seen by `watch()`) by another. */
  'read-only': [ReadOnlyState]
}

/** An event of `evolve.events` (a Runner's `events`): `'run:end'`, `'batch:done'`, … */
export type EvolveEventName = keyof EvolveEvents

/** A listener of one event: called with that event's payload. */
export type EvolveListener<E extends EvolveEventName> = (...payload: EvolveEvents[E]) => void

// The emitter's methods, typed by the event map here rather than by @types/node's generic
// EventEmitter: since @types/node 25 (the version an app installs today) that one accepts any
// string as an event name (`on('run:ended', …)` compiled and never fired); from 20.11 to 24 it
// refused a typo only through its listener (typed `never`, naming no event) and took any name in
// listenerCount and removeAllListeners; before 20.11 it was not generic at all. Each `never`
// overload only keeps the merged interface assignable to @types/node's own signatures (a
// declaration check under skipLibCheck: false); no call can match it.
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging -- it types the inherited methods of the class below
export interface EvolveEmitter {
  on<E extends EvolveEventName>(event: E, listener: EvolveListener<E>): this
  on(event: never, listener: never): this
  once<E extends EvolveEventName>(event: E, listener: EvolveListener<E>): this
  once(event: never, listener: never): this
  off<E extends EvolveEventName>(event: E, listener: EvolveListener<E>): this
  off(event: never, listener: never): this
  addListener<E extends EvolveEventName>(event: E, listener: EvolveListener<E>): this
  addListener(event: never, listener: never): this
  removeListener<E extends EvolveEventName>(event: E, listener: EvolveListener<E>): this
  removeListener(event: never, listener: never): this
  prependListener<E extends EvolveEventName>(event: E, listener: EvolveListener<E>): this
  prependListener(event: never, listener: never): this
  prependOnceListener<E extends EvolveEventName>(event: E, listener: EvolveListener<E>): this
  prependOnceListener(event: never, listener: never): this
  emit<E extends EvolveEventName>(event: E, ...payload: EvolveEvents[E]): boolean
  emit(event: never, ...payload: never): boolean
  listenerCount<E extends EvolveEventName>(event: E, listener?: EvolveListener<E>): number
  listenerCount(event: never, listener?: never): number
  removeAllListeners(event?: EvolveEventName): this
}
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging -- typed by the interface above
export class EvolveEmitter extends EventEmitter<EvolveEvents> {}

/**
 * The events a run and the read-only switch emit, for front ends that relay all of them
 * (`run --json`, the UI's detail pane). `progress` and `watch:error` come from `watch()`.
 */
export const EVENT_NAMES = [
  'run:state',
  'run:start',
  'run:total',
  'run:skip',
  'run:end',
  'batch:done',
  'batch:retry',
  'batch:split',
  'batch:takeover',
  'batch:alone',
  'object:failed',
  'snapshot:step',
  'sweep',
  'throttled',
  'read-only',
] as const satisfies readonly (keyof EvolveEvents)[]
