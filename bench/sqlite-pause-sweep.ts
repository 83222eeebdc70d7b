// The experiment behind SQLite's pause after a batch (not part of `npm run bench`):
//   npx tsx bench/sqlite-pause-sweep.ts [--rows 300000] [--rounds 2] [--pauses rule,25,25@20] [--modes set,transform]
//     [--rate 200] [--connections 2] [--loop]
// For each round, each candidate pause ("rule" = the dialect's own, lib/dialects/sqlite/pause.ts;
// a number = that many ms after every batch; "25@20" = a 25 ms pause with a 20 ms target batch
// duration; --loop adds (c)) runs evolvekit on a fresh SQLite table while the bench's app
// (bench/app-load.ts: --rate operations/s on --connections readers and as many writers) reads and
// writes it, interleaved so a burst of other work lands on every candidate alike. Prints, per run,
// the app's longest write statement (lock wait) and the migration's time; docs/benchmarks.md quotes it.
import { parseArgs } from 'node:util'
import { sqliteDialect } from '../lib/dialects/sqlite/index.ts'
import { startApp } from './app-handle.ts'
import { sqliteDatabase, withKnex, withSql } from './databases.ts'
import { keysetBatchLoop } from './methods/hand-written.ts'
import { type EvolveMode, runEvolve } from './methods/evolvekit.ts'
import { fmt } from './progress.ts'
import { APP_LOAD } from './scenarios/live-impact.ts'
import { createUsers } from './users-table.ts'

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '300000' },
    rounds: { type: 'string', default: '2' },
    pauses: { type: 'string', default: 'rule,25' },
    rate: { type: 'string', default: String(APP_LOAD.rate) },
    connections: { type: 'string', default: String(APP_LOAD.connections) },
    modes: { type: 'string', default: 'set,transform' },
    loop: { type: 'boolean', default: false },
  },
})
const rows = Number(values.rows)
const modes = values.modes.split(',') as EvolveMode[]
const original = sqliteDialect.pauseAfterBatchMs!
const pauseOf = (p: string) => (p === 'rule' ? original : () => Number(p))

interface Row {
  what: string
  seconds: number
  maxWriteMs: number
  maxResponseMs: number
  writeP99: number
  errors: number
  maxBatchMs: number
}
const results: Row[] = []

async function once(what: string, migrate: (db: Awaited<ReturnType<typeof sqliteDatabase>>) => Promise<number>): Promise<void> {
  const db = await sqliteDatabase()
  try {
    await withSql(db, (sql) => createUsers(sql, rows))
    const app = await startApp({ url: db.url, maxId: rows, rate: Number(values.rate), connections: Number(values.connections) })
    app.start()
    const t0 = performance.now()
    const maxBatchMs = await migrate(db)
    const seconds = (performance.now() - t0) / 1000
    const impact = await app.stop()
    const row = {
      what,
      seconds,
      maxWriteMs: impact.writeService.max,
      maxResponseMs: impact.writes.max,
      writeP99: impact.writes.p99,
      errors: impact.errors,
      maxBatchMs,
    }
    results.push(row)
    console.error(
      `${what}: ${fmt(seconds, 2)} s, longest write ${fmt(row.maxWriteMs, 0)} ms (from schedule ${fmt(row.maxResponseMs, 0)}), ` +
        `p99 ${fmt(row.writeP99, 1)} ms, longest batch ${fmt(maxBatchMs, 0)} ms, errors ${row.errors}`,
    )
  } finally {
    await db.remove()
  }
}

for (let round = 1; round <= Number(values.rounds); round++) {
  if (values.loop) await once('(c) keyset loop', async (db) => (await withSql(db, (sql) => keysetBatchLoop(sql)), NaN))
  for (const mode of modes) {
    for (const candidate of values.pauses.split(',')) {
      const [p, target] = candidate.split('@') as [string, string | undefined]
      sqliteDialect.pauseAfterBatchMs = pauseOf(p)
      const options = target ? { targetBatchMs: Number(target) } : {}
      await once(`${mode} pause ${candidate}`, async (db) => (await withKnex(db, (knex) => runEvolve(knex, mode, options))).maxBatchMs)
    }
  }
}
sqliteDialect.pauseAfterBatchMs = original

console.log(`| run | ${rows} rows: seconds | longest app write (ms) | from schedule (ms) | write p99 (ms) | longest batch (ms) | errors |`)
console.log('|---|---:|---:|---:|---:|---:|---:|')
for (const r of results)
  console.log(
    `| ${r.what} | ${fmt(r.seconds, 2)} | ${fmt(r.maxWriteMs, 0)} | ${fmt(r.maxResponseMs, 0)} | ${fmt(r.writeP99, 1)} | ${fmt(r.maxBatchMs, 0)} | ${r.errors} |`,
  )
