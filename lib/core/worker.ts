import { randomUUID } from 'node:crypto'
import { setTimeout as delay, setImmediate as nextTurn } from 'node:timers/promises'
import type { Batch } from '../store/batches.ts'
import type { Run } from '../store/runs.ts'
import { claimNext, readTurn } from './claim-next.ts'
import type { WorkerContext } from './context.ts'
import { executeBatch } from './execute-batch.ts'
import { finalize } from './finalize.ts'
import { failRunFor } from './read-only-run.ts'
import { liveWorkers, localWorkers, whileAlive } from './liveness.ts'
import { endAlone, enterTurn, leaveTurn } from './solo.ts'
import { BatchSizer } from './pacing.ts'
import { prefetchRows } from './prefetch.ts'
import { type ThrottleDecision, checkThrottle } from './throttle.ts'

export function newWorkerId(): string {
  return randomUUID()
}

/**
 * One worker serving one run until the work is finished, the run is cancelled or
 * fails, or `ctx.signal` asks it to stop (it finishes its batch first). While the
 * run is paused or throttled the worker stays, idle, and goes on when it may.
 */
export async function runWorker(ctx: WorkerContext): Promise<void> {
  const { knex, workerId, store } = ctx
  await whileAlive({ ...ctx, heartbeatMs: ctx.options.heartbeatMs }, workerId, ctx.migration.name, async () => {
    try {
      await loop(ctx)
    } finally {
      await store.batches.releaseClaims(knex, workerId)
    }
  })
}

async function loop(ctx: WorkerContext): Promise<void> {
  const o = ctx.options
  // A runner joining (or restarting) starts at the size the run has learned so far.
  const learned = (await ctx.store.runs.get(ctx.knex, ctx.migration.name))?.batchSize
  const state: LoopState = {
    sizer: new BatchSizer(o.batchSize ?? learned ?? ctx.migration.batchSize, o, o.batchSize !== undefined),
    conflicts: 0,
  }
  ctx.sizers?.add(state.sizer)
  try {
    await turns(ctx, state)
  } finally {
    ctx.sizers?.delete(state.sizer)
  }
}

async function turns(ctx: WorkerContext, state: LoopState): Promise<void> {
  const o = ctx.options
  let consecutive = 0
  while (!ctx.signal.aborted) {
    try {
      if ((await step(ctx, state)) === 'finished') return
      consecutive = 0
      // A synchronous driver (better-sqlite3) settles every statement at once: turns that never
      // hold (batch after failing batch) would otherwise keep heartbeats and log writes out for good.
      await nextTurn()
    } catch (err) {
      // Bookkeeping outside a batch can meet the same conflicts as a batch (a busy SQLite
      // file, a dropped connection): back off and go on rather than abandon the run.
      const reason = ctx.dialect.classifyError(err)
      if (ctx.signal.aborted) throw err // asked to stop: the run is left as it is, to resume
      if (reason === null || ++consecutive > ctx.migration.maxAttempts) {
        // Given up. Served by nobody else, the run ends failed with why (`evolve run` goes on later),
        // not `running` with nobody serving it; other processes serving it go on with it.
        const othersServe = await liveWorkers(ctx.store, ctx.knex, ctx.migration.name)
          .then((live) => live.some((w) => !localWorkers.has(w.id)))
          .catch(() => true) // unknown: not this process's to end
        if (!othersServe) await failRunFor(ctx.store, ctx.events, ctx.knex, ctx.migration.name, ctx.by, err)
        throw err
      }
      state.conflicts++
      const error = (err as Error).message
      ctx.events.emit('batch:retry', { run: ctx.migration.name, batchId: null, attempt: consecutive, reason, error, worker: ctx.workerId })
      await ctx.wakeup.wait(Math.min(o.retryMaxMs, o.retryMinMs * 2 ** consecutive), ctx.signal)
    }
  }
}

interface LoopState {
  sizer: BatchSizer
  /** Conflicts since the last batch; they are counted as the next batch's retries. */
  conflicts: number
  /** The fixed size this worker last stored: stored again only when it changes here. */
  storedFixed?: number
}

/** One turn of the loop; where the dialect pauses between batches, one sibling at a time. */
async function step(ctx: WorkerContext, state: LoopState): Promise<'finished' | 'continue'> {
  if (!ctx.dialect.pauseAfterBatchMs) {
    if (!enterTurn()) return hold(ctx, ctx.options.pollMs) // a suspect batch runs alone
    try {
      return await stepOnce(ctx, state)
    } finally {
      leaveTurn(ctx)
    }
  }
  const { turn } = ctx
  // A batch that reads its rows early takes its pause after its claim and read (stepOnce).
  const wait = readsEarly(ctx, state.sizer) ? 0 : turn.at - performance.now()
  if (turn.busy || wait > 0) return hold(ctx, turn.busy ? ctx.options.pollMs : wait)
  turn.busy = true
  try {
    return await stepOnce(ctx, state)
  } finally {
    turn.busy = false
    ctx.wakeup.wake() // a sibling holding for its turn goes on
  }
}

/** Hold back, or claim and evolve one batch, or close the pass. */
async function stepOnce(ctx: WorkerContext, state: LoopState): Promise<'finished' | 'continue'> {
  const { sizer } = state
  const { options: o } = ctx
  const { run, open } = await readTurn(ctx)
  if (!run || !['running', 'paused'].includes(run.state)) return 'finished'
  // A fixed size (an operator's, or the flag's) is stored at once, paused or not: `status` shows it,
  // and no batch might store it later (only one spanning the full size does: a sweep's few rows never).
  // Once, not whenever the run row holds another: two processes with different sizes rewrote it every turn.
  if (sizer.isFixed && state.storedFixed !== sizer.current) {
    await ctx.store.runs.update(ctx.knex, run.name, { batchSize: sizer.current })
    state.storedFixed = sizer.current
  }
  if (run.state === 'paused') return hold(ctx, o.pollMs)
  const throttle = await checkThrottle(ctx)
  if (throttle) return hold(ctx, await holdBack(ctx, run, throttle))
  const size = Math.min(sizer.current, o.maxRowsPerSecond ?? Infinity)
  // A writer that arrives while the claim commits waits through the batch too: its wait counts from here.
  const claiming = performance.now()
  const next = await claimNext(ctx, run, size, open)
  if (next.kind === 'hold') return hold(ctx, await holdBack(ctx, run, next.decision))
  if (next.kind === 'batch') {
    // A suspect batch was claimed alone (claimNext): once it ends, the process's other workers go on.
    try {
      await evolveClaimed(ctx, state, run, next, size, claiming)
    } finally {
      endAlone(ctx)
    }
  } else if (next.kind === 'wait') return hold(ctx, o.pollMs)
  else if (next.kind === 'finalize' && (await finalize(ctx, run))) return 'finished'
  return 'continue'
}

/**
 * Evolves a claimed batch, then sets when the next may start: after the pause owed to the app. A
 * batch that reads its rows early (SQLite, nobody else writing) reads them first, in that pause.
 */
async function evolveClaimed(
  ctx: WorkerContext,
  state: LoopState,
  run: Run,
  next: { batch: Batch; planned?: boolean; trimmed?: boolean },
  size: number,
  claiming: number,
): Promise<void> {
  const { sizer } = state
  const m = ctx.migration
  if (run.throttleReason !== null) await ctx.store.runs.update(ctx.knex, m.name, { throttleReason: null, throttledAt: null })
  const claimed = performance.now()
  const early = readsEarly(ctx, sizer)
  const prefetched = early ? await prefetchRows(ctx, next.batch, sizer) : undefined
  // The pause owed to the app, counted from the claim's write: a writer whose try met that write
  // tries again within its next sleep, no longer than the pause.
  if (early) await delay(claimed + ctx.turn.gap - performance.now())
  const writing = performance.now()
  let outcome: Awaited<ReturnType<typeof executeBatch>>
  let letGo: number
  let checkpoint: (() => Promise<void>) | undefined
  try {
    checkpoint = await ctx.dialect.deferCheckpoint?.(ctx.knex)
    outcome = await executeBatch(ctx, next.batch, state.conflicts, sizer.rowBytes, prefetched)
  } finally {
    // The pause after a batch starts as it lets go of the database, with what its commit put off.
    letGo = performance.now()
    prefetched?.release() // the batch's transaction did, unless it never began
    await checkpoint?.()
  }
  state.conflicts = 0
  if (outcome && outcome.rows > 0 && outcome.bytes > 0) sizer.observeBytes(outcome.rows, outcome.bytes)
  // A batch the byte cap cut short says nothing about the time a full one takes; one the rate limit
  // cut short (to what was left of the second) only that a full one would be too long, if it was itself.
  if ((next.planned || next.trimmed) && outcome && !outcome.cut) {
    if (next.planned) sizer.observe(size, outcome.durationMs)
    else sizer.observeTrimmed(outcome.durationMs)
    // A learned size (a fixed one is stored once, at the start of a turn).
    if (!sizer.isFixed && worthStoring(sizer, run.batchSize)) await ctx.store.runs.update(ctx.knex, m.name, { batchSize: sizer.current })
  }
  if (outcome) await aimForContention(ctx, sizer)
  // The lock was held from the claim on, unless reading the rows first left it free long enough
  // for a writer who came during the claim to get in: then from the batch's transaction on.
  const pause = (ms: number) => ctx.dialect.pauseAfterBatchMs?.(ms) ?? 0
  const heldFrom = prefetched && writing - claimed >= pause(claimed - claiming) ? writing : claiming
  const gap = outcome ? pause(letGo - heldFrom) : 0
  if (gap > 0) Object.assign(ctx.turn, { at: letGo + gap, gap })
}

/** How long no other connection may have written before batches aim at the quiet target. */
const QUIET_AFTER_MS = 1000

/**
 * Where the dialect can tell that another connection wrote (SQLite), batches aim at the short
 * target while anyone else writes and at the quiet one once nobody has for a second (counting
 * from before the run began, where the dialect knows: SQLite's WAL file): an app that writes at
 * least once a second never meets a quiet batch. A writer that shows up during one waits for that
 * batch and one pause at most; its commit is seen after the next batch, which aims short.
 */
async function aimForContention(ctx: WorkerContext, sizer: BatchSizer): Promise<void> {
  const { dialect, options: o, turn } = ctx
  if (!dialect.othersWroteAt || o.quietTargetBatchMs === undefined) return
  turn.othersWroteAt = Math.max(turn.othersWroteAt, await dialect.othersWroteAt(ctx.knex))
  sizer.retarget(Date.now() - turn.othersWroteAt >= QUIET_AFTER_MS ? o.quietTargetBatchMs : o.targetBatchMs)
}

/**
 * True when the next batch reads its rows before its transaction (prefetch.ts): the dialect can
 * tell whether they are still current, the migration reads rows, and batches aim at the quiet
 * target (nobody else wrote for a second; with the app writing, the early read would be wasted).
 */
function readsEarly(ctx: WorkerContext, sizer: BatchSizer): boolean {
  const quiet = ctx.options.quietTargetBatchMs
  if (!ctx.dialect.commitStamp || ctx.migration.mode === 'set') return false
  return quiet !== undefined && quiet !== ctx.options.targetBatchMs && sizer.targetMs === quiet
}

/**
 * The learned size moves a little after nearly every batch; the run row keeps it for workers that
 * join and for `status`, which need it roughly, so a write (a round trip per batch) waits until
 * it moved by more than a fifth. (A fixed size is stored exactly, at the start of a turn: stepOnce.)
 */
function worthStoring(sizer: BatchSizer, stored: number | null): boolean {
  const now = sizer.current
  if (now === stored) return false
  return stored === null || Math.abs(now - stored) > stored * 0.2
}

async function hold(ctx: WorkerContext, ms: number): Promise<'continue'> {
  await ctx.wakeup.wait(ms, ctx.signal)
  return 'continue'
}

/** Records why the run holds back (so `status` shows it from anywhere); returns for how long. */
async function holdBack(ctx: WorkerContext, run: Run, decision: ThrottleDecision): Promise<number> {
  if (decision.reason !== run.throttleReason) {
    await ctx.store.runs.update(ctx.knex, run.name, { throttleReason: decision.reason, throttledAt: 'now' })
  }
  ctx.events.emit('throttled', { run: run.name, source: decision.source, reason: decision.reason, ms: decision.ms })
  return decision.ms
}
