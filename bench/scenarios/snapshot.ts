// Scenario 5: snapshot mode (copy, evolve the copy, swap) next to the in-place `set` run and the
// raw UPDATE, on the same table: total time, the read-only window, and the longest a reader
// waited — overall and across the swap. Reported, not asserted.
import { spawn } from 'node:child_process'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseMigration } from '../../lib/config/migration-schema.ts'
import { openEvolve } from '../../lib/index.ts'
import { type BenchDatabase, withKnex, withSql } from '../databases.ts'
import { DEFINITIONS, runEvolve } from '../methods/evolvekit.ts'
import { rawUpdate } from '../methods/hand-written.ts'
import { fmt, log, timed } from '../progress.ts'
import { countPending, createUsers } from '../users-table.ts'

export interface SnapshotResult {
  dialect: BenchDatabase['dialect']
  rows: number
  rawUpdateSeconds: number
  inPlaceSetSeconds: number
  snapshotSeconds: number
  /** Snapshot run ÷ raw UPDATE (the goal: ≤ 2). */
  ratioToRaw: number
  /** Writes refused from read-only on to read-only off. */
  readOnlyWindowMs: number
  /** The swap transaction, as the run saw it (its step began → the next began). */
  swapMs: number
  reader: { reads: number; errors: number; longestWaitMs: number; longestWaitAcrossSwapMs: number }
  pendingAfter: number
  /** How long each step took, in ms. */
  stepsMs: Record<string, number>
}

interface ReaderReport {
  reads: number
  errors: number
  longest: number
  slow: [number, number][]
}

const READER = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'snapshot-reader.mjs')

function startReader(db: BenchDatabase, rows: number) {
  const target = db.dialect === 'postgres' ? db.url : db.url.slice('sqlite:'.length)
  const child = spawn(process.execPath, [READER, db.dialect, target, String(rows)], { stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk))
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout.on('data', () => out.includes('ready') && resolve())
    child.once('exit', () => reject(new Error(`snapshot reader exited early: ${out}`)))
  })
  const finish = () =>
    new Promise<ReaderReport>((resolve) => {
      child.once('exit', () => resolve(JSON.parse(out.split('\n').filter(Boolean).at(-1)!) as ReaderReport))
      child.kill('SIGTERM')
    })
  return { ready, finish }
}

/** A run that died part-way leaves its copy or backup behind; numbering restarts with the tracking tables. */
async function dropLeftovers(db: BenchDatabase): Promise<void> {
  await withSql(db, async (sql) => {
    for (const t of ['users__evolve_new_1', 'users__evolve_old_1'])
      await sql.run(`DROP TABLE IF EXISTS ${t}${sql.dialect === 'postgres' ? ' CASCADE' : ''}`)
  })
}

export async function snapshot(db: BenchDatabase, rows: number): Promise<SnapshotResult> {
  await dropLeftovers(db)
  await withSql(db, (sql) => createUsers(sql, rows))
  const raw = await withSql(db, (sql) => timed(() => rawUpdate(sql)))
  log(`snapshot/${db.dialect}: raw UPDATE: ${fmt(raw.seconds, 2)} s`)
  await withSql(db, (sql) => createUsers(sql, rows))
  const inPlace = await withKnex(db, (knex) => runEvolve(knex, 'set'))
  log(`snapshot/${db.dialect}: in-place set: ${fmt(inPlace.seconds, 2)} s`)

  await withSql(db, (sql) => createUsers(sql, rows))
  const m = parseMigration('bench_snapshot', 'bench:snapshot', { ...DEFINITIONS.set, mode: 'snapshot' })
  const reader = startReader(db, rows)
  await reader.ready
  const steps: Record<string, number> = {}
  const run = await withKnex(db, async (knex) => {
    const evolve = await openEvolve({ knex, migrations: [m] })
    evolve.events.on('snapshot:step', (e) => (steps[e.step] ??= Date.now()))
    const { value: results, seconds } = await timed(async () => (await evolve.run()).done)
    if (results[0]?.state !== 'done') throw new Error(`snapshot run ended ${results[0]?.state}: ${results[0]?.lastError}`)
    const progress = await evolve.progress(m.name)
    await evolve.cleanup(m.name)
    return { seconds, window: progress.snapshot?.readOnly?.ms ?? NaN }
  })
  const report = await reader.finish()
  const swapStart = steps.swap ?? NaN
  const swapEnd = steps.validate ?? NaN
  // A read that was under way at any moment of the swap waited across it.
  const acrossSwap = report.slow
    .filter(([start, ms]) => start <= swapEnd && start + ms >= swapStart)
    .reduce((max, [, ms]) => Math.max(max, ms), 0)
  const pendingAfter = await withSql(db, countPending)
  const result: SnapshotResult = {
    dialect: db.dialect,
    rows,
    rawUpdateSeconds: raw.seconds,
    inPlaceSetSeconds: inPlace.seconds,
    snapshotSeconds: run.seconds,
    ratioToRaw: run.seconds / raw.seconds,
    readOnlyWindowMs: run.window,
    swapMs: swapEnd - swapStart,
    reader: { reads: report.reads, errors: report.errors, longestWaitMs: report.longest, longestWaitAcrossSwapMs: acrossSwap },
    pendingAfter,
    stepsMs: stepDurations(steps),
  }
  log(`snapshot/${db.dialect}: steps (ms): ${JSON.stringify(result.stepsMs)}`)
  log(
    `snapshot/${db.dialect}: snapshot run ${fmt(run.seconds, 2)} s (${fmt(result.ratioToRaw, 2)} × raw UPDATE), read-only ${fmt(run.window)} ms, swap ${fmt(result.swapMs)} ms, reader longest wait ${fmt(report.longest, 1)} ms (${fmt(acrossSwap, 1)} ms across the swap), ${report.errors} reader errors`,
  )
  return result
}

function stepDurations(starts: Record<string, number>): Record<string, number> {
  const ordered = Object.entries(starts).sort((a, b) => a[1] - b[1])
  return Object.fromEntries(ordered.slice(0, -1).map(([step, at], i) => [step, ordered[i + 1]![1] - at]))
}
