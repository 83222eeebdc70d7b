// Fixtures for the "live safety at scale" tests: a table of counters, migration and config
// files written into a temp project, and read-only probes of the tracking tables.
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Knex } from 'knex'
import { runCli, type CliResult } from './cli.ts'
import type { FreshDatabase } from './databases.ts'

export const TABLE = 'items'

/** `items(id 1..n, counter 0)`: `counter` counts how often each row was evolved. */
export async function createItems(knex: Knex, rows: number): Promise<void> {
  await knex.schema.createTable(TABLE, (t) => {
    t.integer('id').primary()
    t.integer('counter').notNullable().defaultTo(0)
  })
  const all = Array.from({ length: rows }, (_, i) => ({ id: i + 1, counter: 0 }))
  for (let i = 0; i < all.length; i += 200) await knex(TABLE).insert(all.slice(i, i + 200))
}

/** How many rows have each counter value, e.g. `{ 1: 600 }` once every row was evolved once. */
export async function counterHistogram(knex: Knex): Promise<Record<number, number>> {
  const rows = (await knex(TABLE).select('counter').count({ n: '*' }).groupBy('counter').orderBy('counter')) as {
    counter: number | string
    n: number | string
  }[]
  return Object.fromEntries(rows.map((r) => [Number(r.counter), Number(r.n)]))
}

export interface UpMigrationOptions {
  /** Starting (or fixed) batch size written into the file. */
  batchSize: number
  /** Sleep at the start of every batch, inside its transaction. */
  sleepPerBatchMs?: number
  /** Sleep per row of the batch, so a bigger batch takes proportionally longer. */
  sleepPerRowMs?: number
  /** With this file present, every batch sleeps this long more: `[path, ms]`. Delete it to speed up. */
  slowWhile?: [file: string, ms: number]
  /**
   * `[path, key]`: a batch whose first row's id is above `key` waits, inside its transaction,
   * while the file exists. The test then sees which workers hold a claim, and deletes the
   * file to let them all go on.
   */
  gate?: [file: string, afterKey: number]
}

/** An `up` migration without `pending` that adds 1 to `counter` of every row of its batch. */
export function upMigration(o: UpMigrationOptions): string {
  const [slowFile, slowMs] = o.slowWhile ?? [null, 0]
  const [gateFile, gateAfter] = o.gate ?? [null, 0]
  return `import { existsSync } from 'node:fs'
import { defineMigration } from 'evolvekit'

export default defineMigration({
  table: '${TABLE}',
  batchSize: ${o.batchSize},
  up: async (rows, { trx }) => {
    const gate = ${JSON.stringify(gateFile)}
    if (gate && rows[0].id > ${gateAfter}) while (existsSync(gate)) await new Promise((resolve) => setTimeout(resolve, 20))
    const slow = ${JSON.stringify(slowFile)}
    const ms = ${o.sleepPerBatchMs ?? 0} + ${o.sleepPerRowMs ?? 0} * rows.length + (slow && existsSync(slow) ? ${slowMs} : 0)
    if (ms > 0) await new Promise((resolve) => setTimeout(resolve, ms))
    await trx('${TABLE}').whereIn('id', rows.map((r) => r.id)).increment('counter', 1)
  },
})
`
}

/** A `set` migration without `pending`: one fast UPDATE per batch, `counter = counter + 1`. */
export function setMigration(batchSize: number): string {
  return `import { defineMigration } from 'evolvekit'

export default defineMigration({
  table: '${TABLE}',
  batchSize: ${batchSize},
  set: { counter: (knex) => knex.raw('counter + 1') },
})
`
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
  const dir = await mkdtemp(path.join(os.tmpdir(), 'evk-live-'))
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

export interface BatchRow {
  id: number
  phase: string
  state: string
  owner: string | null
  lo: string | null
  hi: string | null
  rows: number
  finished_at: number | null
  claimed_at: number | null
}

export async function batches(knex: Knex, name: string): Promise<BatchRow[]> {
  const rows: Record<string, unknown>[] = await knex('evolve_batches').where({ run_name: name }).orderBy('id')
  return rows.map((r) => ({
    id: Number(r.id),
    phase: String(r.phase),
    state: String(r.state),
    owner: (r.owner as string | null) ?? null,
    lo: (r.lo as string | null) ?? null,
    hi: (r.hi as string | null) ?? null,
    rows: Number(r.rows),
    finished_at: r.finished_at == null ? null : Number(r.finished_at),
    claimed_at: r.claimed_at == null ? null : Number(r.claimed_at),
  }))
}

/** Done batches of a run; 0 before the tracking tables exist. */
export async function doneBatchCount(knex: Knex, name: string): Promise<number> {
  if (!(await knex.schema.hasTable('evolve_batches'))) return 0
  const row = await knex('evolve_batches').where({ run_name: name, state: 'done' }).count({ n: '*' }).first()
  return Number(row?.n ?? 0)
}

export async function runRow(knex: Knex, name: string): Promise<Record<string, unknown> | undefined> {
  if (!(await knex.schema.hasTable('evolve_runs'))) return undefined
  return knex('evolve_runs').where({ name }).first()
}

/** Owners of the batches claimed right now whose range starts at or past `fromKey` (see `gate`). */
export async function claimOwners(knex: Knex, name: string, fromKey = 0): Promise<string[]> {
  if (!(await knex.schema.hasTable('evolve_batches'))) return []
  const rows: { owner: string; lo: string | null }[] = await knex('evolve_batches')
    .where({ run_name: name, state: 'claimed' })
    .select('owner', 'lo')
  return rows.filter((r) => (r.lo === null ? 0 : (JSON.parse(r.lo) as number)) >= fromKey).map((r) => r.owner)
}

/** Worker ids registered by the process with this pid. */
export async function workerIdsOfPid(knex: Knex, pid: number): Promise<string[]> {
  if (!(await knex.schema.hasTable('evolve_workers'))) return []
  const rows: { id: string }[] = await knex('evolve_workers').where({ pid }).select('id')
  return rows.map((r) => r.id)
}

/** Polls `probe` until it returns a truthy value; fails with `what` after `timeoutMs`. */
export async function waitUntil<T>(
  what: string,
  probe: () => Promise<T | undefined | null | false>,
  timeoutMs = 30_000,
  everyMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await probe()
    if (value) return value
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(everyMs)
  }
}

export interface StatusEntry {
  name: string
  state: string
  done: number
  failed: number
  remaining: number | null
  total: number | null
  batchSize: number | null
  retries: number
  throttled: string | null
  workers: number
  rowsPerSecond: number | null
  etaSeconds: number | null
  startedAt: string | null
  finishedAt: string | null
}

/** `evolve status --json` for the project's migration (the CLI must exit 0). */
export async function statusJson(project: Project): Promise<StatusEntry> {
  const result = await runCli(['status', '--json', ...project.dbFlags], { cwd: project.dir })
  if (result.code !== 0) throw new Error(`evolve status --json exited ${result.code}\n${result.stderr}`)
  const entries = JSON.parse(result.stdout) as StatusEntry[]
  const entry = entries.find((e) => e.name === project.name)
  if (!entry) throw new Error(`status --json has no entry for ${project.name}: ${result.stdout}`)
  return entry
}

export async function statusText(project: Project): Promise<CliResult> {
  return runCli(['status', ...project.dbFlags], { cwd: project.dir })
}

export { freePort } from './embedded-postgres.ts'

/** Environment for a CLI process whose clock (Date.now) runs `skewMs` off, like a host with a skewed clock. */
export function skewedClock(skewMs: number): Record<string, string> {
  const preload = pathToFileURL(path.join(import.meta.dirname, 'skewed-clock.mjs')).href
  return { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import=${preload}`, EVK_CLOCK_SKEW_MS: String(skewMs) }
}

/** The number of keys of `items` in the batch range (lo, hi]; lo null = from the start. */
export async function keysInRange(knex: Knex, lo: string | null, hi: string | null): Promise<number> {
  const q = knex(TABLE)
  if (lo !== null) q.where('id', '>', JSON.parse(lo) as number)
  if (hi !== null) q.where('id', '<=', JSON.parse(hi) as number)
  const row = await q.count({ n: '*' }).first()
  return Number(row?.n ?? 0)
}
