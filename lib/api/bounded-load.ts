// status and progress load migration files to compare each with what its run stored
// (run-identity.ts). A file whose import never settles (a top-level await on a network call that
// hangs) must not hang the command an operator runs when something is wrong, nor the admin API's
// GET /status: each load has LOAD_BOUND_MS, and a file that does not load in time, or throws, is
// said on its run (RunStatus.fileError) while the others are answered.
import { statSync } from 'node:fs'
import { relative, resolve } from 'node:path'
import { listMigrationFiles } from '../config/load-migrations.ts'
import type { Migration } from '../core/migration.ts'
import { errorMessage } from '../errors.ts'
import type { EvolveParts } from './evolve-types.ts'
import { pickMigrations } from './migration-names.ts'

/**
 * 5 s. A first load compiles the file and what it imports (a second or two on a busy machine), and
 * a top-level await that is answered at all (a config service, a secret store) is answered within
 * that; an operator who asked for status should not wait much longer to hear about the others.
 */
export const LOAD_BOUND_MS = 5_000

/** What loading one file within the bound gave: its migration, or why not (one line). */
export type Bounded = { migration: Migration } | { error: string; late?: true }

/** A load under way: when it started and what it will give (never rejects). */
interface Load {
  since: number
  result: Promise<Bounded>
}

/**
 * Loads still under way, by file and modification time. An import cannot be called off: one that
 * never settles stays here, and a status polled every second (the terminal UI, `watch`) waits on the
 * same import, only for what is left of its bound, instead of starting another each time. An edit
 * of the file (a new modification time) loads it afresh.
 */
const underWay = new Map<string, Load>()

/** Loads the files of `names` at once, each within `ms`; a Migration[] has nothing to load. */
export async function loadWithin(parts: EvolveParts, names: string[], ms = LOAD_BOUND_MS): Promise<Map<string, Bounded>> {
  const out = new Map<string, Bounded>()
  if (names.length === 0) return out
  const files = parts.migrationsDir ? listMigrationFiles(resolve(parts.migrationsDir), parts.noMigrationsDir) : []
  const results = await Promise.all(
    names.map((name) => {
      const file = files.find((f) => f.name === name)?.file
      return file ? bounded(loadOf(parts, name, file), ms) : settle(pickMigrations(parts, [name]), name)
    }),
  )
  names.forEach((name, i) => out.set(name, results[i]!))
  return out
}

/** The load of `file` under way, or a new one. */
function loadOf(parts: EvolveParts, name: string, file: string): Load {
  let modified = 0
  try {
    modified = statSync(file).mtimeMs
  } catch {
    // Gone since it was listed: the load says so.
  }
  const key = `${file}\0${modified}`
  const known = underWay.get(key)
  if (known) return known
  const load: Load = { since: Date.now(), result: settle(pickMigrations(parts, [name]), relative(process.cwd(), file) || file) }
  underWay.set(key, load)
  void load.result.then(() => underWay.delete(key))
  return load
}

/** The load's result, or a timeout's error once its bound (from when it started) has passed. */
async function bounded(load: Load, ms: number): Promise<Bounded> {
  const left = Math.max(0, load.since + ms - Date.now())
  let timer: NodeJS.Timeout | undefined
  // Not unref'd: with nothing else to wait on (a SQLite database, an import holding no socket) the
  // process would end in the middle of status. Cleared as soon as the load settles.
  const late = new Promise<Bounded>((settled) => {
    timer = setTimeout(
      () => settled({ error: `does not load: its import has not settled in ${ms / 1000} s (a top-level await?)`, late: true }),
      left,
    )
  })
  try {
    return await Promise.race([load.result, late])
  } finally {
    clearTimeout(timer)
  }
}

/** The migration, or its load's error in one line without the file's name (`shown`): it is said on the file's run. */
async function settle(load: Promise<Migration[]>, shown: string): Promise<Bounded> {
  try {
    const [migration] = await load
    return migration ? { migration } : { error: 'does not load' }
  } catch (err) {
    const line = errorMessage(err).split('\n')[0]!
    const text = (line.startsWith(`${shown}: `) ? line.slice(shown.length + 2) : line).replace(/^cannot load this migration: /, '')
    return { error: `does not load: ${text}` }
  }
}
