import type { Knex } from 'knex'
import { usage } from '../errors.ts'
import { insertBatch } from '../store/batches.ts'
import { listFailures } from '../store/failures.ts'
import { getRun, updateRun } from '../store/runs.ts'
import type { Migration } from './migration.ts'

/**
 * Turns a run's failed objects into pending `retry` batches (explicit key lists) and
 * sets the run running again. Failures stay recorded until their object evolves.
 */
export async function enqueueFailures(knex: Knex, m: Migration, batchSize: number): Promise<number> {
  const failures = await listFailures(knex, m.name)
  const run = await getRun(knex, m.name)
  if (!run || failures.length === 0) throw nothingToRetry(m.name)
  // A pause or cancel is an operator's decision: retry must not quietly override it.
  if (run.state === 'paused' || run.state === 'cancelled') {
    throw usage('E_RUN_STOPPED', `migration "${m.name}" is ${run.state}: \`evolve resume ${m.name}\` first, then retry`)
  }
  const keys = failures.map((f) => f.key)
  await knex.transaction(async (trx) => {
    for (let i = 0; i < keys.length; i += batchSize) {
      await insertBatch(trx, m.name, 'retry', { keys: keys.slice(i, i + batchSize) }, null)
    }
    // Only from the state checked above: a pause landing meanwhile rolls the batches back.
    if (!(await updateRun(trx, m.name, { state: 'running', lastError: null, finishedAt: null }, { state: run.state }))) {
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
