// Shared fixtures: migration files in temp dirs, seeded tables, and ways to look at a
// database from the outside (tracking tables, exact row snapshots, an "app" writing meanwhile).
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { after } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import Database from 'better-sqlite3'
import type { Knex } from 'knex'
import type { CliResult } from './cli.ts'
import { repoRoot } from './cli.ts'
import { fresh, type Dialect, type FreshDatabase } from './databases.ts'

const tempDirs: string[] = []
after(() => Promise.all(tempDirs.map((dir) => rm(dir, { recursive: true, force: true }))))

/** A new empty directory, removed when the test file is done. */
export async function tempDir(prefix = 'evk-'): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix))
  tempDirs.push(dir)
  return dir
}

/**
 * The source of a migration file: `spec` is the object literal handed to defineMigration,
 * `prelude` any code above it (imports, helpers).
 */
export function migrationSource(spec: string, prelude = ''): string {
  return `import { defineMigration } from 'evolvekit'\n${prelude}\nexport default defineMigration(${spec})\n`
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

/** A fresh database for the duration of `fn`, dropped afterwards even if `fn` throws. */
export async function withDb<T>(dialect: Dialect, fn: (db: FreshDatabase) => Promise<T>): Promise<T> {
  const db = await fresh(dialect)
  try {
    return await fn(db)
  } finally {
    await db.drop()
  }
}

/** Names of the evolve_* tables present in the database, sorted. */
export async function trackingTables(db: FreshDatabase): Promise<string[]> {
  if (db.dialect === 'postgres') {
    const { rows } = await db.knex.raw(
      "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public' AND table_name LIKE 'evolve%' ORDER BY 1",
    )
    return rows.map((r: { name: string }) => r.name)
  }
  const rows: { name: string }[] = await db.knex.raw(
    "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'evolve%' ORDER BY 1",
  )
  return rows.map((r) => r.name)
}

/** Every row of `table` in key order, exactly as the driver returns it. */
export async function rowsOf(db: FreshDatabase, table: string, key = 'id'): Promise<Record<string, unknown>[]> {
  return db.knex(table).select('*').orderBy(key)
}

export interface UserSeed {
  /** Rows to insert, ids 1..count. */
  count: number
  /** Rows whose e-mail is in the old (mixed-case) shape. Default: every third row. */
  pending?: (id: number) => boolean
  /** Rows flagged `bad` (poison). Default: none. */
  bad?: (id: number) => boolean
}

/** The old shape of a user's e-mail (mixed case) and the new one (lower case). */
export const oldEmail = (id: number) => `User${id}.Name@Example.COM`
export const newEmail = (id: number) => oldEmail(id).toLowerCase()

/**
 * `users (id integer primary key, email, name, dup, counter, bad, touches)`: `dup` is a
 * non-unique column, `counter` counts `up` calls, `touches` counts UPDATEs (see addTouchCounter).
 */
export async function createUsers(db: FreshDatabase, seed: UserSeed): Promise<void> {
  const pending = seed.pending ?? ((id: number) => id % 3 === 0)
  const bad = seed.bad ?? (() => false)
  await db.knex.schema.createTable('users', (t) => {
    t.integer('id').primary()
    t.string('email', 255).notNullable()
    t.string('name', 255)
    t.integer('dup').notNullable().defaultTo(0)
    t.integer('counter').notNullable().defaultTo(0)
    t.boolean('bad').notNullable().defaultTo(false)
    t.integer('touches').notNullable().defaultTo(0)
  })
  const rows = Array.from({ length: seed.count }, (_, i) => {
    const id = i + 1
    return { id, email: pending(id) ? oldEmail(id) : newEmail(id), name: `name ${id}`, dup: id % 4, bad: bad(id) }
  })
  await insertChunked(db.knex, 'users', rows)
}

export async function insertChunked(knex: Knex, table: string, rows: Record<string, unknown>[], size = 200): Promise<void> {
  for (let i = 0; i < rows.length; i += size) await knex(table).insert(rows.slice(i, i + size))
}

/**
 * Adds a trigger that counts every UPDATE of a row in its `touches` column, so a test can
 * tell "rewritten with the same value" from "never touched".
 */
export async function addTouchCounter(db: FreshDatabase, table: string, key = 'id'): Promise<void> {
  if (db.dialect === 'postgres') {
    await db.knex.raw(`CREATE OR REPLACE FUNCTION evk_count_touch() RETURNS trigger AS $$
      BEGIN NEW.touches := OLD.touches + 1; RETURN NEW; END $$ LANGUAGE plpgsql`)
    await db.knex.raw(`CREATE TRIGGER ${table}_touch BEFORE UPDATE ON "${table}" FOR EACH ROW EXECUTE FUNCTION evk_count_touch()`)
  } else {
    // recursive_triggers is off by default: the trigger's own UPDATE does not fire it again.
    await db.knex.raw(`CREATE TRIGGER ${table}_touch AFTER UPDATE ON "${table}" FOR EACH ROW
      BEGIN UPDATE "${table}" SET touches = OLD.touches + 1 WHERE "${key}" = NEW."${key}"; END`)
  }
}

/**
 * Plays the app: runs one write on its own connection and returns only once it committed.
 * Synchronous, so it can run inside a knex 'query' listener, between two statements of
 * a batch: SQLite through a second better-sqlite3 handle, PostgreSQL through a child process.
 */
export function appWriteSync(db: FreshDatabase, sql: string, bindings: (string | number | null)[] = []): void {
  if (db.dialect === 'sqlite') {
    const conn = new Database(db.file)
    try {
      conn.pragma('busy_timeout = 5000')
      conn.prepare(sql).run(...bindings)
    } finally {
      conn.close()
    }
    return
  }
  const native = db.knex.raw(sql, bindings).toSQL().toNative()
  const script = `
    const pg = require('pg')
    let input = ''
    process.stdin.on('data', (d) => (input += d)).on('end', async () => {
      const { url, sql, bindings } = JSON.parse(input)
      const client = new pg.Client({ connectionString: url })
      await client.connect()
      await client.query(sql, bindings)
      await client.end()
    })`
  const result = spawnSync(process.execPath, ['-e', script], {
    cwd: repoRoot,
    input: JSON.stringify({ url: db.url, sql: native.sql, bindings: native.bindings }),
    encoding: 'utf8',
    timeout: 30_000,
  })
  if (result.status !== 0) throw new Error(`app write failed (${result.status}): ${result.stderr}`)
}

/** Polls `probe` until it returns a truthy value; fails after timeoutMs (a hang, not a speed check). */
export async function waitUntil<T>(probe: () => Promise<T>, what: string, timeoutMs = 30_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await probe().catch(() => undefined)
    if (value) return value as NonNullable<T>
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(25)
  }
}

/** evolve_runs row of a migration, with the columns tests look at. */
export async function runRow(
  db: FreshDatabase,
  name: string,
): Promise<{ state: string; sweepPass: number; phase: string; lastError: string | null } | undefined> {
  const row = await db.knex('evolve_runs').where({ name }).first()
  if (!row) return undefined
  return { state: row.state, sweepPass: Number(row.sweep_pass), phase: row.phase, lastError: row.last_error ?? null }
}

/** Failed objects of a run as recorded in evolve_failures, keys decoded, in key order. */
export async function failureRows(db: FreshDatabase, name: string): Promise<{ key: unknown; error: string; attempts: number }[]> {
  const rows = await db.knex('evolve_failures').where({ run_name: name })
  return rows
    .map((r) => ({ key: JSON.parse(r.key) as unknown, error: String(r.error), attempts: Number(r.attempts) }))
    .sort((a, b) => (a.key as number) - (b.key as number))
}

/** Number of evolve_batches rows of a run, optionally in one state or phase. */
export async function countBatches(db: FreshDatabase, name: string, where: { state?: string; phase?: string } = {}): Promise<number> {
  const row = await db
    .knex('evolve_batches')
    .where({ run_name: name, ...where })
    .count({ n: '*' })
    .first()
  return Number(row?.n ?? 0)
}

/** Parses `status --json` output and returns the entry of one migration. */
export function statusOf(result: CliResult, name: string): Record<string, unknown> {
  assert.equal(result.code, 0, `status failed:\n${result.stderr}`)
  const entries = JSON.parse(result.stdout) as Record<string, unknown>[]
  const entry = entries.find((e) => e.name === name)
  assert.ok(entry, `status --json has no entry for ${name}: ${result.stdout}`)
  return entry
}

/** Assertion message with the CLI's output, for when an exit code is not the expected one. */
export function output(result: CliResult): string {
  return `exit ${result.code}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`
}
