// Temp directories and the migration and config files tests write into them: plain files,
// projects with a config file, and workspaces whose migrations park at a gate.
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { after } from 'node:test'
import type { FreshDatabase } from './databases.ts'

const tempDirs: string[] = []
after(() => Promise.all(tempDirs.map((dir) => rm(dir, { recursive: true, force: true }))))

/** A new empty directory, removed when the test file is done. */
export async function tempDir(prefix = 'evk-'): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix))
  tempDirs.push(dir)
  return dir
}

/**
 * Writes files (name → source) into `dir` (default: a new temp dir) and returns the dir.
 * Names may contain sub-directories.
 */
export async function writeFiles(files: Record<string, string>, dir?: string): Promise<string> {
  const target = dir ?? (await tempDir('evk-migrations-'))
  for (const [name, source] of Object.entries(files)) {
    const file = path.join(target, name)
    await mkdir(path.dirname(file), { recursive: true })
    await writeFile(file, source)
  }
  return target
}

export interface Project {
  dir: string
  migrationsDir: string
  /** Migration name (file name without extension). */
  name: string
  /**
   * Global CLI flags that point at this project's database and migrations. `run` in a project
   * with a config file gets none (so the config file is used); read-only commands may use them
   * either way: they are quicker than loading the config file.
   */
  flags: string[]
  /** `--db … --dir …`, also in a project with a config file. */
  dbFlags: string[]
  cleanup(): Promise<void>
}

/**
 * A temp directory with `migrations/<name>.ts` (`migration` may be built from the directory,
 * e.g. to refer to a marker file in it). With `config`, also an `evolve.config.ts`
 * (the body of defineConfig besides client and connection) and no --db in `flags`, so the
 * database and the run options come from the config file when the CLI runs with cwd = dir.
 */
export async function makeProject(
  db: FreshDatabase,
  migration: string | ((dir: string) => string),
  opts: {
    name?: string
    config?: string
    /** Export a plain object instead of defineConfig(…): the file then loads without a second copy of the library. */
    bareConfig?: boolean
  } = {},
): Promise<Project> {
  const dir = await tempDir('evk-live-')
  const migrationsDir = path.join(dir, 'migrations')
  await mkdir(migrationsDir)
  const name = opts.name ?? '20260101000000_bump'
  await writeFile(path.join(migrationsDir, `${name}.ts`), typeof migration === 'string' ? migration : migration(dir))
  const dbFlags = ['--db', db.url, '--dir', migrationsDir]
  let flags = dbFlags
  if (opts.config !== undefined) {
    const connection =
      db.dialect === 'postgres'
        ? `client: 'pg', connection: ${JSON.stringify(db.url)}`
        : `client: 'better-sqlite3', connection: { filename: ${JSON.stringify(db.file)} }`
    const body = `{\n  ${connection},\n  ${opts.config}\n}`
    await writeFile(
      path.join(dir, 'evolve.config.ts'),
      opts.bareConfig
        ? `import fs from 'node:fs'\n\nvoid fs\nexport default ${body}\n`
        : `import fs from 'node:fs'\nimport { defineConfig } from 'evolvekit'\n\nvoid fs\nexport default defineConfig(${body})\n`,
    )
    flags = []
  }
  return { dir, migrationsDir, name, flags, dbFlags, cleanup: () => rm(dir, { recursive: true, force: true }) }
}

/** A temp directory holding the migration files of one test, plus the gate file. */
export interface Workspace {
  /** The migrations directory, for `--dir`. */
  dir: string
  /** Absolute path of the gate file the migrations read (see `gateSource` in migration-sources.ts). */
  gateFile: string
  /** Writes `<name>.ts` into the migrations directory; returns the migration's name. */
  migration(name: string, source: string): Promise<string>
  /** Parks the batch containing `key` (a migration using `gateSource` waits while the gate says so). */
  hold(key: number): Promise<void>
  /** Lets every parked batch go on, and parks no more. */
  open(): Promise<void>
  cleanup(): Promise<void>
}

export async function workspace(): Promise<Workspace> {
  const root = await tempDir('evk-crash-')
  const dir = path.join(root, 'migrations')
  const gateFile = path.join(root, 'gate')
  await mkdir(dir)
  // Replaced atomically, so the child never reads a half-written number.
  const setGate = async (text: string) => {
    const tmp = `${gateFile}.${process.pid}.tmp`
    await writeFile(tmp, text)
    await rename(tmp, gateFile)
  }
  return {
    dir,
    gateFile,
    async migration(name, source) {
      await writeFile(path.join(dir, `${name}.ts`), source)
      return name
    },
    hold: (key) => setGate(String(key)),
    open: () => rm(gateFile, { force: true }),
    cleanup: () => rm(root, { recursive: true, force: true }),
  }
}
