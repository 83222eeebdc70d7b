// Scenario 4: more workers in one runner process (transform mode, PostgreSQL), each count on a fresh table.
import { type BenchDatabase, withKnex, withSql } from '../databases.ts'
import { type EvolveOutcome, runEvolve } from '../methods/evolvekit.ts'
import { fmt, log } from '../progress.ts'
import { createUsers } from '../users-table.ts'

export interface ScaleRun {
  workers: number
  seconds: number
  rowsPerSecond: number
  /** rows/s ÷ rows/s with one worker, same run. */
  ratioToOne: number
  evolve: EvolveOutcome
}

export interface ScaleOutResult {
  rows: number
  mode: 'transform'
  runs: ScaleRun[]
}

export async function scaleOut(db: BenchDatabase, rows: number, counts = [1, 2, 4]): Promise<ScaleOutResult> {
  const runs: ScaleRun[] = []
  for (const workers of counts) {
    await withSql(db, (sql) => createUsers(sql, rows))
    const evolve = await withKnex(db, (knex) => runEvolve(knex, 'transform', { workers }))
    const rowsPerSecond = rows / evolve.seconds
    runs.push({
      workers,
      seconds: evolve.seconds,
      rowsPerSecond,
      ratioToOne: rowsPerSecond / (runs[0]?.rowsPerSecond ?? rowsPerSecond),
      evolve,
    })
    log(`scale-out: ${workers} worker(s): ${fmt(evolve.seconds, 2)} s = ${fmt(rowsPerSecond)} rows/s`)
  }
  return { rows, mode: 'transform', runs }
}
