import { knownNames, listMigrationFiles, loadMigrations } from '../config/load-migrations.ts'
import type { Migration } from '../core/migration.ts'
import { shown, usage } from '../errors.ts'
import type { EvolveParts } from './evolve-types.ts'

/** Where an admin object opened without migrations sends its user. */
export const NO_MIGRATIONS =
  "this admin object was opened without migrations: pass them with the knex, a directory or a Migration[] (openEvolve({ knex, migrations: './migrations' }), createAdminApi({ knex, migrations }))"

type Source = Pick<EvolveParts, 'migrations' | 'migrationsDir' | 'noMigrationsDir'>

/** The migrations (all, or those named) from a Migration[] or a directory; an unknown name is E_UNKNOWN_MIGRATION. */
export async function pickMigrations({ migrations, migrationsDir, noMigrationsDir }: Source, names: string[]): Promise<Migration[]> {
  // From plain JavaScript, run('x') would fail deep inside with "names.find is not a function".
  if (!Array.isArray(names) || names.some((n) => typeof n !== 'string'))
    throw usage(
      'E_CONFIG',
      `migration names must be an array of strings, e.g. run(['20260101000000_lowercase-emails']) (found ${shown(names)})`,
    )
  if (migrations) {
    const all = migrations.map((m) => m.name)
    const unknown = names.find((n) => !all.includes(n))
    if (unknown) throw usage('E_UNKNOWN_MIGRATION', `no migration named "${unknown}" ${knownNames(unknown, all)}`)
    return names.length > 0 ? migrations.filter((m) => names.includes(m.name)) : migrations
  }
  if (!migrationsDir) {
    if (names.length > 0) throw usage('E_UNKNOWN_MIGRATION', `no migration named "${names[0]}": ${NO_MIGRATIONS}`)
    return []
  }
  return loadMigrations(migrationsDir, names, undefined, noMigrationsDir)
}

/** The names of the migrations, from the files' names (without importing them) or the Migration[]. */
export function migrationNames({ migrations, migrationsDir, noMigrationsDir }: Source): string[] {
  if (migrations) return migrations.map((m) => m.name)
  return migrationsDir ? listMigrationFiles(migrationsDir, noMigrationsDir).map((f) => f.name) : []
}

/**
 * E_UNKNOWN_MIGRATION, as `run` says it, for a name that is neither a migration nor a known run,
 * with the name it likely meant. The directory is named on the CLI only (never over HTTP).
 */
export function unknownName(name: string, known: string[], dir: string | undefined): Error {
  const found = knownNames(name, known)
  if (dir === undefined) return usage('E_UNKNOWN_MIGRATION', `no migration named "${name}" ${found}`)
  return usage('E_UNKNOWN_MIGRATION', `no migration named "${name}" in ${dir} ${found}`, `no migration named "${name}" ${found}`)
}
