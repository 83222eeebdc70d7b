import { splitTable, withSuffix } from '../../dialects/snapshot-ddl.ts'
import type { SnapshotStep } from '../../store/snapshots.ts'

/** Steps in the order a snapshot run takes them; `status` shows where it is. */
export const SNAPSHOT_STEPS: readonly SnapshotStep[] = [
  'preflight',
  'read-only',
  'copy',
  'build',
  'evolve',
  'verify',
  'swap',
  'validate',
  'read-write',
  'done',
]

/** Who holds the read-only switch: the same in every process that resumes the run, so the last one can turn it off. */
const SNAPSHOT_ACTOR = 'snapshot '
export const readOnlyActor = (m: { name: string }): string => `${SNAPSHOT_ACTOR}${m.name}`

/** The snapshot run holding the read-only switch, read from who holds it (readOnlyActor), if one does. */
export const snapshotHolding = (by: string | null): string | undefined =>
  by?.startsWith(SNAPSHOT_ACTOR) ? by.slice(SNAPSHOT_ACTOR.length) : undefined

/** The run that evolves the copy: the same worker loop, its own batches and failures. */
export const shadowRunName = (name: string): string => `${name}.shadow`

/** The snapshot run whose copy the run `name` evolves (`<name>.shadow`), or undefined for any other run. */
export function snapshotOfShadow(name: string): string | undefined {
  const suffix = shadowRunName('')
  return name.endsWith(suffix) ? name.slice(0, -suffix.length) : undefined
}

/** What to do about a run's failed objects: retry them; a snapshot's copy is not retried, its run starts over. */
export function afterFailures(name: string): string {
  const snapshot = snapshotOfShadow(name)
  return snapshot === undefined
    ? `fix the cause, then \`evolve retry ${name}\``
    : `fix the migration, then \`evolve run ${snapshot}\` starts over from a fresh copy`
}

/** The copy (`<table>__evolve_new_<id>`) and the backup the old table becomes (`<table>__evolve_old_<id>`), in the table's schema. */
export function snapshotNames(table: string, id: number): { shadow: string; backup: string } {
  const [schema, base] = splitTable(table)
  const inSchema = (name: string) => (schema === undefined ? name : `${schema}.${name}`)
  return { shadow: inSchema(withSuffix(base, `__evolve_new_${id}`)), backup: inSchema(withSuffix(base, `__evolve_old_${id}`)) }
}

/** Index name suffixes of the copy (until the swap) and of the backup (after it). */
export const indexSuffixes = (id: number) => ({ incoming: `__evn${id}`, outgoing: `__evo${id}` })

/*
 * An unwound run is back at `preflight` (the next run starts over), but `status` should say where
 * it stopped: its error names the step, in a form stoppedAt reads back (there is no column for it).
 */
const STOPPED = /^snapshot stopped at ([a-z-]+),/
export const stoppedPrefix = (step: SnapshotStep): string => `snapshot stopped at ${step},`

/** The step an unwound run stopped at, from the error unwind.ts recorded; undefined for any other error. */
export function stoppedAt(error: string | null): SnapshotStep | undefined {
  const step = error === null ? undefined : STOPPED.exec(error)?.[1]
  return SNAPSHOT_STEPS.find((s) => s === step)
}
