// Shared fixtures for the crash-resume and conflict tests: migration files in a temp dir,
// a file-based "gate" that parks a running batch at a chosen key, and readers for the
// tracking tables and `evolve status --json` / `evolve failures --json`.
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import type { Knex } from 'knex'
import { type CliResult, type RunningCli, runCli } from './cli.ts'
import type { StatusEntry } from './live-fixtures.ts'

/** A temp directory holding the migration files of one test, plus the gate file. */
export interface Workspace {
  /** The migrations directory, for `--dir`. */
  dir: string
  /** Absolute path of the gate file the migrations read (see `gateSource`). */
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
  const root = await mkdtemp(path.join(os.tmpdir(), 'evk-crash-'))
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

/** The line a gated migration prints once it parks the batch holding `key`. */
export const heldLine = (key: number) => `[gate] holding key ${key}\n`

/**
 * TypeScript source for a migration file: `await gate(keys)` parks the batch while the
 * gate file names one of `keys`, printing `heldLine(key)` once, and returns when the gate
 * names another key or is removed. Anything done on ctx.trx before it is uncommitted
 * while the batch is parked, so a kill -9 then lands inside the batch transaction.
 */
export function gateSource(gateFile: string): string {
  return `
import { readFileSync } from 'node:fs'
const GATE_FILE = ${JSON.stringify(gateFile)}
function gateKey(): number | null {
  try {
    const text = readFileSync(GATE_FILE, 'utf8').trim()
    return text === '' ? null : Number(text)
  } catch {
    return null
  }
}
async function gate(keys: number[]): Promise<void> {
  const key = gateKey()
  if (key === null || !keys.includes(key)) return
  process.stdout.write('[gate] holding key ' + key + '\\n')
  while (gateKey() === key) await new Promise((r) => setTimeout(r, 10))
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
`
}

// One polling helper and one runs-table probe for all the test fixtures.
export { runRow, waitUntil } from './live-fixtures.ts'

export interface BatchRow {
  id: number
  state: 'pending' | 'claimed' | 'done' | 'split' | 'failed'
  owner: string | null
  lo: string | null
  hi: string | null
  rows: number
  retries: number
  attempts: number
  claimedAt: number | null
}

export async function batchRows(knex: Knex, run: string): Promise<BatchRow[]> {
  const rows: Record<string, unknown>[] = await knex('evolve_batches').where({ run_name: run }).orderBy('id')
  return rows.map((r) => ({
    id: Number(r.id),
    state: r.state as BatchRow['state'],
    owner: (r.owner as string | null) ?? null,
    lo: (r.lo as string | null) ?? null,
    hi: (r.hi as string | null) ?? null,
    rows: Number(r.rows),
    retries: Number(r.retries),
    attempts: Number(r.attempts),
    claimedAt: r.claimed_at === null ? null : Number(r.claimed_at),
  }))
}

export type { StatusEntry }

/** `evolve status --json`, parsed; fails the test if the command does not exit 0. */
export async function status(url: string, dir: string): Promise<StatusEntry[]> {
  const result = await runCli(['status', '--json', '--db', url, '--dir', dir])
  if (result.code !== 0) throw new Error(`evolve status exited ${result.code}\n${result.stdout}\n${result.stderr}`)
  return JSON.parse(result.stdout) as StatusEntry[]
}

export interface FailureEntry {
  key: unknown
  error: string
  attempts: number
}

/** `evolve failures <name> --json`, parsed. */
export async function failures(url: string, dir: string, name: string): Promise<FailureEntry[]> {
  const result = await runCli(['failures', name, '--json', '--db', url, '--dir', dir])
  if (result.code !== 0) throw new Error(`evolve failures exited ${result.code}\n${result.stdout}\n${result.stderr}`)
  return JSON.parse(result.stdout) as FailureEntry[]
}

/** Inserts rows in chunks small enough for SQLite's bound-variable limit. */
/** items(id, counter): `counter` counts how often each row was evolved. */
export async function createItems(knex: Knex, rows: number): Promise<void> {
  await knex.schema.createTable('items', (t) => {
    t.increments('id')
    t.integer('counter').notNullable().defaultTo(0)
  })
  await insertRows(
    knex,
    'items',
    Array.from({ length: rows }, () => ({ counter: 0 })),
  )
}

export async function insertRows(knex: Knex, table: string, rows: Record<string, unknown>[]): Promise<void> {
  for (let i = 0; i < rows.length; i += 500) await knex(table).insert(rows.slice(i, i + 500))
}

/** `counter` value → how many rows have it, e.g. { 1: 2000 } when every row was counted once. */
export async function counterHistogram(knex: Knex, table: string): Promise<Record<number, number>> {
  const rows: { counter: unknown; n: unknown }[] = await knex(table).select('counter').count({ n: '*' }).groupBy('counter')
  return Object.fromEntries(rows.map((r) => [Number(r.counter), Number(r.n)]))
}

/** Waits for a spawned CLI to exit; kills it (SIGKILL) and fails if it takes longer than timeoutMs. */
export async function exitOf(cli: RunningCli, timeoutMs = 60_000): Promise<CliResult> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      cli.child.kill('SIGKILL')
      reject(new Error(`evolve did not exit within ${timeoutMs} ms\nstdout:\n${cli.stdout}\nstderr:\n${cli.stderr}`))
    }, timeoutMs)
  })
  try {
    return await Promise.race([cli.exited, timeout])
  } finally {
    clearTimeout(timer)
  }
}
