import type { Knex } from 'knex'
import { EvolveConnectionError, usage } from '../errors.ts'
import { changeRunState } from '../core/run-state.ts'
import { checkSnapshotControl, followInShadow, unwindOrphanedCancel } from '../core/snapshot/control.ts'
import { APP_LATENCY_KEY } from '../core/throttle.ts'
import type { RunState } from '../store/runs.ts'
import { TABLES } from '../store/schema.ts'
import { type Store, storeFor } from '../store/store.ts'
import { EvolveEmitter } from '../core/events.ts'
import { defaultActor } from './actor.ts'

export type ControlAction = 'pause' | 'resume' | 'cancel'

/** What an operator may do to a run, and from which states; the run state machine has the last word. */
const ACTIONS: Record<ControlAction, { from: RunState[]; to: RunState }> = {
  pause: { from: ['pending', 'running'], to: 'paused' },
  resume: { from: ['paused', 'cancelled'], to: 'running' },
  cancel: { from: ['pending', 'running', 'paused'], to: 'cancelled' },
}

const BUSY_PATIENCE_MS = 60_000

/**
 * Changes a run's state in the database, where every worker on every machine reads it;
 * PostgreSQL workers are woken at once by NOTIFY, others see it on their next poll.
 */
export async function controlRun(
  store: Store,
  events: EvolveEmitter,
  knex: Knex,
  name: string,
  action: ControlAction,
  who: { by: string; reason?: string | null },
): Promise<RunState> {
  // A long batch can hold SQLite's write lock past busy_timeout: an operator's pause
  // must still get through, so a busy database is waited out for a while.
  const controlOnce = async () => {
    const state = await changeOnce(store, events, knex, name, action, who)
    // Also when it was cancelled already: cancelling again is how an orphaned snapshot run gets unwound.
    if (action === 'cancel') await unwindOrphanedCancel(store, events, knex, name, who.by)
    return state
  }
  const deadline = Date.now() + BUSY_PATIENCE_MS
  for (;;) {
    try {
      return await controlOnce()
    } catch (err) {
      if (store.dialect.classifyError(err) !== 'busy') throw err
      if (Date.now() > deadline) {
        throw new EvolveConnectionError(
          `cannot ${action} "${name}": the database stayed locked for ${BUSY_PATIENCE_MS / 1000} s (a long batch holds SQLite's write lock); try again`,
          { transient: true }, // nothing to mend: exit 75, as an unreachable database
        )
      }
      // Back in the busy handler at once: the runner leaves the lock free only briefly between batches.
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
  }
}

/** One read of the run and one compare-and-set; lost races read again. */
async function changeOnce(...[store, events, knex, name, action, who]: Parameters<typeof controlRun>): Promise<RunState> {
  for (;;) {
    const run = (await store.upgradeIfAny(knex)) ? await store.runs.get(knex, name) : undefined
    if (!run) throw usage('E_UNKNOWN_RUN', `migration "${name}" has not run yet: nothing to ${action} (see \`evolve status\`)`)
    const { from, to } = ACTIONS[action]
    // Pausing a paused run or cancelling a cancelled one is harmless; resuming a running one is a mistake.
    if (run.state === to && action !== 'resume') return to
    if (!from.includes(run.state)) {
      throw usage('E_BAD_STATE', `cannot ${action} "${name}": its run is ${run.state} (${action} works on ${from.join(', ')} runs)`)
    }
    await checkSnapshotControl(store, knex, name, action)
    if (await changeRunState(store, events, knex, run, { to, by: who.by, reason: who.reason ?? action })) {
      await store.dialect.notifyControl?.(knex, name)
      // A snapshot run's copy is evolved by a run of its own: it stops (or goes on) with it.
      await followInShadow(store, events, knex, name, to, who)
      return to
    }
  }
}

/**
 * Pauses a run: workers finish their current batch and wait, even across restarts.
 *
 * @example
 * ```ts
 * await pauseRun(knex, '20260101_lowercase-emails')
 * ```
 */
export const pauseRun = (knex: Knex, name: string, by = defaultActor()) =>
  controlRun(storeFor(knex), new EvolveEmitter(), knex, name, 'pause', { by })

/** Lets a paused or cancelled run go on; a cancelled run needs `evolve run` to get workers again. */
export const resumeRun = (knex: Knex, name: string, by = defaultActor()) =>
  controlRun(storeFor(knex), new EvolveEmitter(), knex, name, 'resume', { by })

/** Stops a run: workers finish or roll back their current batch and leave. `evolve run` resumes it later. */
export const cancelRun = (knex: Knex, name: string, by = defaultActor()) =>
  controlRun(storeFor(knex), new EvolveEmitter(), knex, name, 'cancel', { by })

/**
 * Lets the app tell evolvekit how it is doing: while the reported latency is above
 * the runner's `maxAppLatencyMs`, workers hold back. A report is trusted for 10 s.
 *
 * @example
 * ```ts
 * setInterval(() => reportAppLatency(knex, metrics.p99WriteMs()), 1000)
 * ```
 */
export async function reportAppLatency(knex: Knex, ms: number): Promise<void> {
  const store = storeFor(knex)
  await store.ensure(knex, [TABLES.control]) // the app's role need not write the others
  await store.control.set(knex, APP_LATENCY_KEY, String(ms))
}
