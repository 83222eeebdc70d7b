import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs'
import { extname, join, relative, resolve } from 'node:path'
import { EvolveUsageError, didYouMean, nearestName, usage } from '../errors.ts'
import type { Migration } from '../core/migration.ts'
import { sourceHash } from '../core/source-hash.ts'
import { importUserModule } from './import-module.ts'
import { parseMigration } from './migration-schema.ts'
import { LIBRARY_NAMES } from './option-names.ts'

export const MIGRATION_EXTENSIONS = ['.ts', '.mts', '.cts', '.js', '.mjs', '.cjs']

/**
 * Whether a file of the migrations directory is a migration. Files whose name starts with `_`
 * are helpers the migrations import (`_shared.ts`), and `.d.ts` files are types: both skipped.
 * Every other file must export a migration, or loading it is an error that names this rule.
 */
export function isMigrationFile(file: string): boolean {
  return MIGRATION_EXTENSIONS.includes(extname(file)) && !file.startsWith('_') && !/\.d\.[cm]?ts$/.test(file)
}

/**
 * The migration files of a directory, in file-name order, without importing them. `fix`: what a
 * missing directory's message tells the caller to do, in the caller's own option names.
 */
export function listMigrationFiles(dir: string, fix = LIBRARY_NAMES.noMigrationsDir): { name: string; file: string }[] {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw usage('E_NO_MIGRATIONS_DIR', `migrations directory ${dir} does not exist: ${fix}`, 'the migrations directory does not exist')
  }
  const files = readdirSync(dir).filter(isMigrationFile).sort()
  const seen = new Map<string, string>()
  return files.map((f) => {
    const name = f.slice(0, -extname(f).length)
    if (seen.has(name))
      throw usage(
        'E_DUPLICATE_MIGRATION',
        `${join(dir, f)}: migration "${name}" is also defined by ${seen.get(name)}; rename one`,
        `migration "${name}" is defined by two files (${seen.get(name)}, ${f}); rename one`,
      )
    seen.set(name, f)
    return { name, file: join(dir, f) }
  })
}

/** Loads and validates migrations; `names` picks some (unknown names are an error). */
export async function loadMigrations(
  dir: string,
  names: string[] = [],
  cwd = process.cwd(),
  fix = LIBRARY_NAMES.noMigrationsDir,
): Promise<Migration[]> {
  // Absolute, or the module loader would take `migrations/001_x.ts` for a package name.
  dir = resolve(cwd, dir)
  const all = listMigrationFiles(dir, fix)
  const unknown = names.filter((n) => !all.some((m) => m.name === n))
  if (unknown.length > 0) {
    const found = knownNames(
      unknown[0]!,
      all.map((m) => m.name),
    )
    throw usage(
      'E_UNKNOWN_MIGRATION',
      `no migration named "${unknown[0]}" in ${dir} ${found}`,
      `no migration named "${unknown[0]}" ${found}`,
    )
  }
  const chosen = names.length > 0 ? all.filter((m) => names.includes(m.name)) : all
  const migrations: Migration[] = []
  for (const { name, file } of chosen) {
    const shown = relative(cwd, file) || file
    try {
      // Read before the import: an edit landing between the two makes the next open see a change, never hides one.
      const hash = existsSync(file) ? sourceHash(readFileSync(file, 'utf8')) : undefined
      migrations.push({ ...parseMigration(name, shown, await importUserModule(file, 'migration', shown)), sourceHash: hash })
    } catch (err) {
      throw withoutPath(err, name, shown)
    }
  }
  return migrations
}

/**
 * A file's error (`<file>: …`) said by the migration's name instead, for pathFreeMessage. What
 * follows a load error is the loader's own first line, which may name files: it is left out.
 */
function withoutPath(err: unknown, name: string, shown: string): unknown {
  if (!(err instanceof EvolveUsageError) || err.pathFreeMessage !== undefined || !err.message.startsWith(`${shown}: `)) return err
  err.pathFreeMessage =
    err.code === 'E_LOAD'
      ? `migration "${name}" cannot be loaded (a syntax error, a missing import, or an error it throws): fix its file`
      : `migration "${name}": ${err.message.slice(shown.length + 2)}`
  return err
}

/**
 * What a name that is no migration is told: the names there are, and the one it most likely
 * meant (the name without its timestamp, `lowercase-emails`, or a typo of a letter or two).
 */
export function knownNames(name: string, known: readonly string[]): string {
  const undated = known.find((k) => k.replace(/^\d+_/, '') === name)
  return `(found: ${known.join(', ') || 'none'})${didYouMean(name, known, undated ?? nearestName(name, known))}`
}
