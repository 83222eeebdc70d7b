import type { Knex } from 'knex'
import { dialectOf } from '../dialects/for-knex.ts'
import { EvolveConnectionError, usage } from '../errors.ts'
import { setControl } from '../store/control.ts'
import { type RunState, getRun, updateRun } from '../store/runs.ts'
import { ensureSchema, hasSchema } from '../store/schema.ts'
import { APP_LATENCY_KEY } from '../core/throttle.ts'

const TRANSITIONS: Record<'pause' | 'resume' | 'cancel', { from: RunState[]; to: RunState }> = {
  pause: { from: ['pending', 'running'], to: 'paused' },
  resume: { from: ['paused', 'cancelled'], to: 'running' },
  cancel: { from: ['pending', 'running', 'paused'], to: 'cancelled' },
}

/**
 * Changes a run's state in the database, where every worker on every machine reads
 * it; PostgreSQL workers are woken at once by NOTIFY, others see it on their next poll.
 */
async function transition(knex: Knex, name: string, action: keyof typeof TRANSITIONS): Promise<RunState> {
  // A long batch can hold SQLite's write lock past busy_timeout: an operator's pause
  // must still get through, so a busy database is waited out for a while.
  const dialect = dialectOf(knex)
  const deadline = Date.now() + BUSY_PATIENCE_MS
  for (;;) {
    try {
      return await transitionOnce(knex, name, action)
    } catch (err) {
      if (dialect.classifyError(err) !== 'busy') throw err
      if (Date.now() > deadline) {
        throw new EvolveConnectionError(
          `cannot ${action} "${name}": the database stayed locked for ${BUSY_PATIENCE_MS / 1000} s (a long batch holds SQLite's write lock); try again`,
        )
      }
      await new Promise((resolve) => setTimeout(resolve, 200))
    }
  }
}

const BUSY_PATIENCE_MS = 60_000

async function transitionOnce(knex: Knex, name: string, action: keyof typeof TRANSITIONS): Promise<RunState> {
  const run = (await hasSchema(knex)) ? await getRun(knex, name) : undefined
  if (!run) throw usage('E_UNKNOWN_RUN', `migration "${name}" has not run yet: nothing to ${action} (see \`evolve status\`)`)
  const { from, to } = TRANSITIONS[action]
  // Pausing a paused run or cancelling a cancelled one is harmless; resuming a running one is a mistake.
  if (run.state === to && action !== 'resume') return to
  if (!from.includes(run.state)) {
    throw usage('E_BAD_STATE', `cannot ${action} "${name}": its run is ${run.state} (${action} works on ${from.join(', ')} runs)`)
  }
  if (!(await updateRun(knex, name, { state: to }, { state: run.state }))) return transitionOnce(knex, name, action)
  await dialectOf(knex).notifyControl?.(knex, name)
  return to
}

/**
 * Pauses a run: workers finish their current batch and wait, even across restarts.
 *
 * @example
 * ```ts
 * await pauseRun(knex, '20260101_lowercase-emails')
 * ```
 */
export const pauseRun = (knex: Knex, name: string) => transition(knex, name, 'pause')

/** Lets a paused or cancelled run go on; a cancelled run needs `evolve run` to get workers again. */
export const resumeRun = (knex: Knex, name: string) => transition(knex, name, 'resume')

/** Stops a run: workers finish or roll back their current batch and leave. `evolve run` resumes it later. */
export const cancelRun = (knex: Knex, name: string) => transition(knex, name, 'cancel')

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
  await ensureSchema(knex)
  await setControl(knex, dialectOf(knex).clockMs(knex), APP_LATENCY_KEY, String(ms))
}
