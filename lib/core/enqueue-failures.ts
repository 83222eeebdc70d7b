import type { Knex } from 'knex'
import { usage } from '../errors.ts'
import type { Store } from '../store/store.ts'
import type { EvolveEmitter } from './events.ts'
import type { Migration } from './migration.ts'
import { changeRunState } from './run-state.ts'

/**
 * Turns a run's failed objects into pending `retry` batches (explicit key lists) and
 * sets the run running again. Failures stay recorded until their object evolves.
 */
export async function enqueueFailures(
  store: Store,
  events: EvolveEmitter,
  knex: Knex,
  m: Migration,
  batchSize: number,
  by: string,
): Promise<number> {
  const failures = await store.failures.list(knex, m.name)
  const run = await store.runs.get(knex, m.name)
  if (!run || failures.length === 0) throw nothingToRetry(m.name)
  // A pause or cancel is an operator's decision: retry must not quietly override it.
  if (run.state === 'paused' || run.state === 'cancelled') {
    throw usage('E_RUN_STOPPED', `migration "${m.name}" is ${run.state}: \`evolve resume ${m.name}\` first, then retry`)
  }
  const keys = failures.map((f) => f.key)
  await knex.transaction(async (trx) => {
    for (let i = 0; i < keys.length; i += batchSize) {
      await store.batches.insert(trx, m.name, 'retry', { keys: keys.slice(i, i + batchSize) }, null)
    }
    // Only from the state checked above: a pause landing meanwhile rolls the batches back.
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
  })
  return keys.length
}

export function nothingToRetry(name: string) {
  return usage('E_NOTHING_TO_RETRY', `migration "${name}" has no failed objects to retry (see \`evolve status\`)`)
}
