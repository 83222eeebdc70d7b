import type { Knex } from 'knex'
import { usage } from '../errors.ts'
import { encodeKey } from '../store/db.ts'
import type { Store } from '../store/store.ts'
import type { EvolveEmitter } from './events.ts'
import { liveWorkers } from './liveness.ts'
import type { Migration } from './migration.ts'
import { changeRunState } from './run-state.ts'

export interface EnqueueOptions {
  /**
   * True when the caller serves the run's batches itself (`evolve retry`): failed objects all
   * queued already are then fine (0, nothing queued). Otherwise (the admin API's queueRetry)
   * they are E_RETRY_QUEUED. Such a caller is refused a run that live workers still serve: it
   * would join them as one more runner (the scan and sweeps too), not re-drive the failed objects.
   */
  acceptQueued?: boolean
}

/**
 * Turns a run's failed objects into pending `retry` batches (explicit key lists) and
 * sets the run running again. Failures stay recorded until their object evolves. Objects
 * in a retry batch not finished yet (queued by an earlier retry) are not queued again:
 * each retry would drive them once more. Returns how many objects this call queued.
 */
export async function enqueueFailures(
  store: Store,
  events: EvolveEmitter,
  knex: Knex,
  m: Migration,
  batchSize: number,
  by: string,
  opts: EnqueueOptions = {},
): Promise<number> {
  const failures = await store.failures.list(knex, m.name)
  const run = await store.runs.get(knex, m.name)
  if (!run) throw notRunYet(m.name)
  if (failures.length === 0) throw nothingToRetry(m.name)
  // A pause or cancel is an operator's decision: retry must not quietly override it.
  if (run.state === 'paused' || run.state === 'cancelled') {
    throw usage('E_RUN_STOPPED', `migration "${m.name}" is ${run.state}: \`evolve resume ${m.name}\` first, then retry`)
  }
  // A running run nobody serves (a retry or run killed on the way) is served by this retry.
  if (run.state === 'running' && opts.acceptQueued && (await liveWorkers(store, knex, m.name)).length > 0) throw stillRunning(m.name)
  const keys = failures.map((f) => f.key)
  return knex.transaction(async (trx) => {
    // The run's row first, only from the state checked above (a pause landing meanwhile refuses
    // the retry); its lock holds a concurrent retry back until this one commits, and that one
    // then sees the batches queued here.
    const patch = { lastError: null, finishedAt: null }
    const moved =
      run.state === 'running'
        ? await store.runs.update(trx, m.name, patch, { state: 'running' })
        : await changeRunState(store, events, trx, run, { to: 'running', by, reason: `retry ${keys.length} failed objects`, patch })
    if (!moved) {
      throw usage(
        'E_RUN_CHANGED',
        `migration "${m.name}" changed state while retry queued its objects (paused?): see \`evolve status\`, then retry again`,
      )
    }
    const queued = new Set((await store.batches.openRetryKeys(trx, m.name)).map(encodeKey))
    const fresh = keys.filter((k) => !queued.has(encodeKey(k)))
    // All queued, for a running run: whoever serves it drives them. (A run that stopped,
    // e.g. at maxFailures, with retry batches left is running again now: they go on.)
    if (fresh.length === 0 && run.state === 'running') {
      if (opts.acceptQueued) return 0
      throw usage(
        'E_RETRY_QUEUED',
        `the ${keys.length} failed objects of "${m.name}" are queued for retry already: \`evolve run ${m.name}\` serves them`,
      )
    }
    for (let i = 0; i < fresh.length; i += batchSize) {
      await store.batches.insert(trx, m.name, 'retry', { keys: fresh.slice(i, i + batchSize) }, null)
    }
    return fresh.length > 0 ? fresh.length : keys.length
  })
}

function stillRunning(name: string) {
  return usage(
    'E_BAD_STATE',
    `migration "${name}" is still running: retry its failed objects once it has ended (\`evolve status\` shows when), or add a runner with \`evolve run ${name}\``,
  )
}

export function nothingToRetry(name: string) {
  return usage('E_NOTHING_TO_RETRY', `migration "${name}" has no failed objects to retry (see \`evolve status\`)`)
}

/** Retry of a migration that never ran: the same code as pause/resume/cancel of one. */
export function notRunYet(name: string) {
  return usage('E_UNKNOWN_RUN', `migration "${name}" has not run yet: nothing to retry; \`evolve run ${name}\` runs it`)
}
