// The admin layer's side of a run's identity (lib/core/identity.ts): which files are here, what
// status and plan add to each run, and what run and retry check before they start.
import { CLI_NAMES } from '../config/option-names.ts'
import { type FileIdentity, type RunNote, checkIdentity, identities, runsWithoutFile } from '../core/identity.ts'
import { noFileRefusal } from '../core/identity-messages.ts'
import type { Migration } from '../core/migration.ts'
import { usage, shown } from '../errors.ts'
import { loadWithin } from './bounded-load.ts'
import type { EvolveParts } from './evolve-types.ts'
import { migrationNames } from './migration-names.ts'

export type { RunNote } from '../core/identity.ts'

/** How a caller allows a rerun under a new name, in its own words. */
function rerunHint(parts: EvolveParts): string {
  return parts.noMigrationsDir === CLI_NAMES.noMigrationsDir ? 'pass --allow-rerun' : 'pass { allowRerun: true }'
}

/** `allowRerun` of run(): a boolean or nothing (the rest of the options are checked with checkStartOptions). */
export function checkAllowRerun(value: unknown): boolean {
  if (value === undefined) return false
  if (typeof value !== 'boolean') throw usage('E_CONFIG', `run option "allowRerun" must be true or false (found ${shown(value)})`)
  return value
}

/**
 * A name given to run or retry that has no file here but is a run the database knows: said so,
 * with the ways on (restore the file, or cancel the run). Other unknown names are left to
 * pickMigrations' E_UNKNOWN_MIGRATION.
 */
export async function assertFilesHere(parts: EvolveParts, names: string[]): Promise<void> {
  // Names that are no array of strings, or an admin object without migrations: pickMigrations says so.
  if (!Array.isArray(names) || (!parts.migrations && !parts.migrationsDir)) return
  const here = migrationNames(parts)
  const missing = names.filter((n) => typeof n === 'string' && !here.includes(n))
  if (missing.length === 0 || !(await parts.store.has(parts.knex))) return
  for (const name of missing) {
    const run = await parts.store.runs.get(parts.knex, name)
    if (run) throw noFileRefusal(run, parts.migrationsDir)
  }
}

/** checkIdentity for these migrations (`everything`: `run` was given no names; `retry`: for retry). */
export function identityNotes(
  parts: EvolveParts,
  migrations: Migration[],
  o: { everything: boolean; allowRerun: boolean; retry: boolean },
): Promise<RunNote[]> {
  return checkIdentity({
    ...o,
    store: parts.store,
    knex: parts.knex,
    migrations,
    here: migrationNames(parts),
    rerunHint: rerunHint(parts),
    dir: parts.migrationsDir,
  })
}

/**
 * What status adds to each name: no file here, the file changed since its run started, looks
 * renamed, does not load. Only the files that can tell are loaded, at once and each within
 * LOAD_BOUND_MS (bounded-load.ts): one that throws, or whose import does not settle in time, is
 * said on its run (`fileError`) and status answers for the others.
 */
export async function fileIdentities(parts: EvolveParts, names: string[]): Promise<Map<string, FileIdentity>> {
  const { store, knex } = parts
  const runs = (await store.has(knex)) ? await store.runs.list(knex) : []
  const here = migrationNames(parts)
  // A pending file can only look renamed when some run without a file was ever started.
  const orphans = runsWithoutFile(runs, here).some((r) => r.state !== 'pending')
  const telling = names.filter((name) => {
    const run = runs.find((r) => r.name === name)
    return here.includes(name) && ((run && run.state !== 'pending') || orphans)
  })
  const loads = await loadWithin(parts, telling)
  const loaded: Migration[] = []
  const errors = new Map<string, string>()
  for (const [name, load] of loads) {
    if ('migration' in load) loaded.push(load.migration)
    else errors.set(name, load.error)
  }
  return identities(names, runs, here, loaded, errors)
}

/** fileIdentities for one name (the admin API's and `watch`'s single run). */
export async function fileIdentity(parts: EvolveParts, name: string): Promise<FileIdentity> {
  return (await fileIdentities(parts, [name])).get(name)!
}
