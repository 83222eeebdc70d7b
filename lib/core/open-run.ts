import type { Knex } from 'knex'
import type { Run } from '../store/runs.ts'
import type { Store } from '../store/store.ts'
import { definitionOf, encodeDefinition } from './definition.ts'
import type { EvolveEmitter } from './events.ts'
import { recordDefinition } from './identity.ts'
import type { Migration } from './migration.ts'
import { finishReadOnlyRun } from './read-only-run.ts'
import { changeRunState } from './run-state.ts'
import { afterFailures } from './snapshot/names.ts'

/**
 * Brings a migration's run to `running` for this runner (a paused one stays paused: its
 * workers wait), creating it first; or returns the run it leaves alone, after saying why.
 * The run starts at once: its total is counted beside the first batches (countTotal).
 * What the file defines is stored with the run; a run whose table, key or mode changed since
 * it started is refused (E_MIGRATION_CHANGED), one whose code changed is stamped (identity.ts).
 */
export async function openRun(
  ctx: { store: Store; events: EvolveEmitter; knex: Knex; by: string },
  m: Migration,
): Promise<{ run: Run; skipped: boolean }> {
  const { store, events, knex, by } = ctx
  let run = await store.runs.get(knex, m.name)
  run ??= await store.runs.ensure(knex, {
    name: m.name,
    description: m.description ?? undefined,
    batchSize: m.batchSize,
    totalEstimate: null,
    definition: encodeDefinition(definitionOf(m)),
  })
  let recorded = false
  for (;;) {
    const skip = skipReason(run)
    if (skip) {
      // A runner that died between `done` and turning read-only off left it on: finish that.
      if (run.state === 'done') await finishReadOnlyRun(store, knex, events, m)
      events.emit('run:skip', { run: m.name, state: run.state, reason: skip })
      return { run, skipped: true }
    }
    if (!recorded) {
      await recordDefinition(store, knex, m)
      recorded = true
    }
    if (run.state === 'running' || run.state === 'paused') return { run, skipped: false }
    const reason = run.startedAt === null ? 'start' : 'resume'
    const patch = { startedAt: run.startedAt ?? ('now' as const), finishedAt: null }
    if (await changeRunState(store, events, knex, run, { to: 'running', by, reason, patch })) return { run, skipped: false }
    // Another process changed the run first: look again.
    run = (await store.runs.get(knex, m.name))!
  }
}

/** Why `run` leaves a run alone, or null when it should (re)start or join it. */
function skipReason(run: Run): string | null {
  if (run.state === 'done') return 'already done'
  if (run.state === 'failed' && run.scanDone)
    return `finished with failed objects (\`evolve failures ${run.name}\`): ${afterFailures(run.name)}`
  return null
}
