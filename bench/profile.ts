// Where one evolvekit run spends its time, statement by statement (not part of `npm run bench`):
//   npx tsx bench/profile.ts [--rows 1000000] [--mode set|transform|transform-all|up] [--workers 1] [--sqlite]
// Prints each SQL shape's count and total time (knex query → response, result parsing included)
// and the runner process's own CPU use. docs/benchmarks.md quotes it.
import { readFileSync } from 'node:fs'
import { cpus } from 'node:os'
import { parseArgs } from 'node:util'
import type { Knex } from 'knex'
import { type BenchDatabase, postgresDatabase, sqliteDatabase, withKnex, withSql } from './databases.ts'
import { provisionPostgres } from './embedded-postgres.ts'
import { type EvolveMode, runEvolve } from './methods/evolvekit.ts'
import { fmt } from './progress.ts'
import { createUsers } from './users-table.ts'

interface Shape {
  count: number
  ms: number
}

/** Times every query of `knex` by its SQL with numbers and placeholders folded together. */
function recordQueries(knex: Knex): Map<string, Shape> {
  const shapes = new Map<string, Shape>()
  const started = new Map<string, number>()
  knex.on('query', (q: { __knexQueryUid: string }) => started.set(q.__knexQueryUid, performance.now()))
  knex.on('query-response', (_response: unknown, q: { __knexQueryUid: string; sql: string }) => {
    const t0 = started.get(q.__knexQueryUid)
    started.delete(q.__knexQueryUid)
    if (t0 === undefined) return
    const key = q.sql
      .replace(/\$\d+/g, '?')
      .replace(/\d+/g, 'N')
      .replace(/(\(\?, \?\), )+/g, '(?, ?), …')
      .slice(0, 150)
    const shape = shapes.get(key) ?? { count: 0, ms: 0 }
    shape.count++
    shape.ms += performance.now() - t0
    shapes.set(key, shape)
  })
  return shapes
}

/** Busy and total jiffies of every core (Linux), to tell a CPU-bound run from one that waits. */
function machineCpu(): { busy: number; total: number } | undefined {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number)
    const total = fields.reduce((a, b) => a + b, 0)
    const idle = fields[3]! + (fields[4] ?? 0) // idle + iowait
    return { busy: total - idle, total }
  } catch {
    return undefined // not Linux
  }
}

async function profile(db: BenchDatabase, rows: number, mode: EvolveMode, workers: number): Promise<void> {
  await withSql(db, (sql) => createUsers(sql, rows))
  await withKnex(db, async (knex) => {
    const shapes = recordQueries(knex)
    const cpu0 = process.cpuUsage()
    const machine0 = machineCpu()
    const outcome = await runEvolve(knex, mode, { workers })
    const cpu = process.cpuUsage(cpu0)
    const machine = machineCpu()
    const wallMs = outcome.seconds * 1000
    const inQueries = [...shapes.values()].reduce((sum, s) => sum + s.ms, 0)
    console.log(
      `${db.dialect} ${mode}, ${workers} worker(s), ${fmt(rows)} rows: ${fmt(outcome.seconds, 2)} s, ${fmt(rows / outcome.seconds)} rows/s, ${outcome.batches} batches`,
    )
    console.log(
      `runner CPU ${fmt(((cpu.user + cpu.system) / 1000 / wallMs) * 100)}% of one core; time inside queries ${fmt(inQueries)} ms of ${fmt(wallMs)} ms wall (summed over workers)`,
    )
    if (machine && machine0) {
      const busy = (machine.busy - machine0.busy) / Math.max(1, machine.total - machine0.total)
      console.log(
        `machine CPU (every process: the database, the runner, anything else) ${fmt(busy * cpus().length, 2)} of ${cpus().length} cores busy`,
      )
    }
    console.log('  count   total ms   ms each  per batch  statement')
    for (const [sql, s] of [...shapes].sort((a, b) => b[1].ms - a[1].ms).slice(0, 30)) {
      const perBatch = s.count / Math.max(1, outcome.batches)
      console.log(
        `${fmt(s.count).padStart(7)} ${fmt(s.ms).padStart(10)} ${fmt(s.ms / s.count, 2).padStart(9)} ${fmt(perBatch, 2).padStart(10)}  ${sql}`,
      )
    }
  })
}

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '1000000' },
    mode: { type: 'string', default: 'set' },
    workers: { type: 'string', default: '1' },
    sqlite: { type: 'boolean', default: false },
  },
})
const rows = Number(values.rows)
const mode = values.mode as EvolveMode
if (!['set', 'transform', 'transform-all', 'up'].includes(mode)) throw new Error(`--mode must be set, transform, transform-all or up`)
if (values.sqlite) {
  const db = await sqliteDatabase()
  await profile(db, rows, mode, Number(values.workers)).finally(() => db.remove())
} else {
  const server = await provisionPostgres()
  await profile(postgresDatabase(server.url), rows, mode, Number(values.workers)).finally(() => server.close())
}
