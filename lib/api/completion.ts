import type { Knex } from 'knex'
import { EvolveNotDoneError } from '../errors.ts'
import { getProgress } from '../core/progress.ts'
import { afterFailures, shadowRunName } from '../core/snapshot/names.ts'
import { storeFor } from '../store/store.ts'
import type { RunState } from '../store/runs.ts'
import { plural } from '../plural.ts'

/** What to do about a run's failed objects (front ends print it; a snapshot's copy starts over). */
export { afterFailures }

/**
 * True once the named migration's run finished with nothing pending and nothing failed.
 *
 * @example
 * ```ts
 * if (await isDone(knex, '20260101_lowercase_emails')) useNewColumn()
 * ```
 */
export async function isDone(knex: Knex, name: string): Promise<boolean> {
  return (await getProgress(storeFor(knex), knex, name)).state === 'done'
}

/**
 * Throws `EvolveNotDoneError` unless the named migration is done: put it at the top of
 * a schema migration that needs the data evolved first (e.g. before dropping a column).
 *
 * @example
 * ```ts
 * export async function up(knex) {
 *   await assertDone(knex, '20260101_lowercase_emails')
 *   await knex.schema.alterTable('users', (t) => t.dropColumn('legacy_email'))
 * }
 * ```
 */
export async function assertDone(knex: Knex, name: string): Promise<void> {
  const p = await getProgress(storeFor(knex), knex, name)
  if (p.state === 'done') return
  const left = p.remaining === null ? '' : `, ${plural(p.remaining, 'row')} remaining`
  const failed = p.failed > 0 ? `, ${p.failed} failed` : ''
  const next =
    p.state !== 'failed'
      ? NEXT_STEP[p.state](name)
      : p.snapshot
        ? snapshotFailed(name, p.failed, p.lastError)
        : runFailed(name, p.failed, p.lastError)
  throw new EvolveNotDoneError(`evolve migration "${name}" is not done (state: ${p.state}${left}${failed}): ${next}`)
}

/**
 * A snapshot run's failed objects are its copy's, and the copy is not retried: the run starts
 * over. With none, a step itself failed (read-only refused, say): its error says why.
 */
function snapshotFailed(name: string, failed: number, error: string | null): string {
  if (failed > 0) return `see \`evolve failures ${shadowRunName(name)}\`, ${afterFailures(shadowRunName(name))}`
  return `${error ?? 'a snapshot step failed (see `evolve status`)'}; once mended, \`evolve run ${name}\` resumes it`
}

/**
 * With failed objects, `evolve retry` re-drives them. With none there is nothing to retry (it would
 * answer E_NOTHING_TO_RETRY): the run stopped for another reason (rows still written in the old
 * shape, say), and once that is mended `evolve run` sweeps again.
 */
function runFailed(name: string, failed: number, error: string | null): string {
  if (failed > 0)
    return `see \`evolve failures ${name}\`, fix the cause, then \`evolve retry ${name}\` (or \`evolve run ${name}\` if rows are still being written in the old shape)`
  return `\`evolve run ${name}\` runs it again once the cause is mended (no object failed: nothing to retry)${error ? `; it stopped: ${error}` : ''}`
}

const NEXT_STEP: Record<Exclude<RunState, 'failed'>, (name: string) => string> = {
  pending: (name) => `it has no run (not started yet, or a misspelled name?): \`evolve run ${name}\``,
  running: () => 'wait for it to finish (`evolve status`)',
  paused: (name) => `it is paused: \`evolve resume ${name}\``,
  cancelled: (name) => `it was cancelled: \`evolve run ${name}\` resumes it`,
  done: () => '',
}
