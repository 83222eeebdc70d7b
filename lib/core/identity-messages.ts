// The refusals of lib/core/identity.ts: one line each, naming the file (or, over HTTP, the
// migration) and the ways on. Codes in docs/troubleshooting.md#error-codes.
import { type EvolveUsageError, usage } from '../errors.ts'
import { plural } from '../plural.ts'
import type { Run } from '../store/runs.ts'
import type { WorkerRow } from '../store/workers.ts'
import { type DefinitionChange } from './definition.ts'
import type { Migration } from './migration.ts'

/** `message` with the file named; the same said with the migration's name for pathFreeMessage. */
function refusal(code: string, m: Migration, text: (subject: string) => string): EvolveUsageError {
  return usage(code, text(m.file), m.file === m.name ? undefined : text(`migration "${m.name}"`))
}

/** The run's table, key or mode changed since it started: going on would evolve the rest of another change. */
export function changedRefusal(m: Migration, run: Run, change: DefinitionChange): EvolveUsageError {
  // cancel takes running and paused runs; a cancelled one is abandoned already, a failed one stays as it is.
  const abandon =
    run.state === 'running' || run.state === 'paused' ? ` (\`evolve cancel ${m.name}\` if the old run is to be abandoned)` : ''
  return refusal(
    'E_MIGRATION_CHANGED',
    m,
    (subject) =>
      `${subject} changed since its run started (${change.structural.join(', ')}) and its ${run.state} run was evolving the old definition: restore the file to go on with that run, or give the new definition a new file name${abandon}`,
  )
}

/** The code changed while another process serves the run with the file as it was: the two would mix. */
export function servedRefusal(m: Migration, serving: WorkerRow[]): EvolveUsageError {
  const where = [...new Set(serving.map((w) => `${w.host} pid ${w.pid}`))].join(', ')
  return refusal(
    'E_MIGRATION_CHANGED',
    m,
    (subject) =>
      `${subject} is not the code its run is being served with: ${plural(serving.length, 'worker')} of another process (${where}) serve it with the file as it was: give every runner the same file, or stop those first`,
  )
}

/** Another process opened the run with other code a moment ago: its workers are on their way, and the two would mix. */
export function openedRefusal(m: Migration, opener: { host: string; pid: number }, ageMs: number): EvolveUsageError {
  const ago = Math.max(0, Math.round(ageMs / 1000))
  return refusal(
    'E_MIGRATION_CHANGED',
    m,
    (subject) =>
      `${subject} is not the code its run is being served with: another process (${opener.host} pid ${opener.pid}) opened it ${ago} s ago with other code: give every runner the same file, or stop that one first`,
  )
}

/** A file with the table and code of a run whose file is gone: running it would evolve those rows again. */
export function renamedRefusal(m: Migration, old: Run, allow: string): EvolveUsageError {
  return refusal(
    'E_MIGRATION_RENAMED',
    m,
    (subject) =>
      `${subject} looks like ${old.name} renamed (the same table and code; ${old.name}'s run is ${old.state} and has no file here): running it would evolve ${old.name}'s rows again; rename the file back, or ${allow} to run it again under the new name`,
  )
}

/**
 * `run <name>` / `retry <name>` of a run the database knows whose file is not here (E_UNKNOWN_MIGRATION,
 * as for any name without a file). `dir`: the directory, named on the CLI only.
 */
export function noFileRefusal(run: Run, dir: string | undefined): EvolveUsageError {
  const abandon = run.state === 'running' || run.state === 'paused' ? `, or \`evolve cancel ${run.name}\` to abandon it` : ''
  const wayOn = run.state === 'done' ? 'nothing is left to run' : `restore its file (another --dir?) to go on with it${abandon}`
  const text = (where: string) => `no migration file "${run.name}"${where}, but the database has a ${run.state} run of that name: ${wayOn}`
  return dir === undefined ? usage('E_UNKNOWN_MIGRATION', text('')) : usage('E_UNKNOWN_MIGRATION', text(` in ${dir}`), text(''))
}
