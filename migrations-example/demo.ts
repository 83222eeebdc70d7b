/**
 * `npm run demo`: a live app keeps serving while evolvekit changes the shape of its data
 * underneath it; the runner is killed with SIGKILL half-way and resumed; a `mode: 'readonly'`
 * migration makes the app read-only for one table (its writes refused and retried after); a
 * `mode: 'snapshot'` migration copies the comments table, evolves the copy and swaps it in while
 * the app reads on (the old table kept as a backup); the schema change that needs the new shape waits for the completion gate. Ends with a summary
 * whose must-be-0 figures (and writes refused during read-only, which must not be 0) decide
 * the exit code. On a terminal `evolve run` shows its live progress; off one, plain lines.
 *
 *   npm run demo [-- --rows N] [--rate R] [--db postgres://…] [--workdir DIR] [--json]
 *
 * SQLite by default (a fresh file in --workdir, default migrations-example/.demo); with
 * --db postgres://… the demo drops and recreates its tables and evolvekit's tracking tables
 * in that database: point it at a scratch one. --json adds the summary as one JSON line.
 */
import { mkdirSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { connect, isPostgresUrl } from './app/connect.ts'
import type { DemoContext } from './demo/context.ts'
import { killChildren } from './demo/evolve-cli.ts'
import { STEPS } from './demo/steps.ts'
import { summarize, summaryLines } from './demo/summary.ts'

const here = path.dirname(fileURLToPath(import.meta.url))
const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '100000' },
    rate: { type: 'string', default: '40' },
    db: { type: 'string' },
    workdir: { type: 'string', default: path.join(here, '.demo') },
    json: { type: 'boolean', default: false },
  },
})
const rows = Number(values.rows)
const rate = Number(values.rate)
if (!Number.isInteger(rows) || rows < 1000) fail('--rows takes a whole number of at least 1000 (rows per table)')
if (!(rate > 0 && rate <= 1000)) fail('--rate takes requests per second, between 1 and 1000')
if (values.db && !isPostgresUrl(values.db)) fail('--db takes a postgres://… URL; without it the demo makes its own SQLite file')

let db = values.db
if (!db) {
  rmSync(values.workdir, { recursive: true, force: true })
  mkdirSync(values.workdir, { recursive: true })
  db = `sqlite:${path.join(path.resolve(values.workdir), 'app.db')}`
}

// On a terminal, `evolve run` draws its live progress (ink) between these lines; off one, the
// demo turns its JSON log into plain lines (demo/evolve-cli.ts).
const say = (line: string) => process.stdout.write(`${line}\n`)
const live = process.stdout.isTTY === true
const holdFile = path.join(os.tmpdir(), `evolvekit-demo-hold-${process.pid}`)
const ctx: DemoContext = { db, rows, rate, knex: connect(db), holdFile, say, live, facts: {} }
const stop = () => {
  ctx.app?.child.kill('SIGKILL')
  killChildren()
}
for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.once(signal, () => {
    stop()
    process.exit(130)
  })

const started = performance.now()
let failure: Error | null = null
say(`demo: ${isPostgresUrl(db) ? 'PostgreSQL' : db}, ${rows} rows per table, the app at ${rate} requests/s`)
try {
  for (const [i, step] of STEPS.entries()) {
    say(`\n[${i + 1}/${STEPS.length}] ${step.title}`)
    const stepStarted = performance.now()
    await step.run(ctx)
    say(`  (${((performance.now() - stepStarted) / 1000).toFixed(1)} s)`)
  }
} catch (err) {
  failure = err as Error
  say(`  failed: ${failure.message}`)
} finally {
  stop()
  for (const file of [holdFile, `${holdFile}.held`, `${holdFile}.snapshot`]) rmSync(file, { force: true })
  await ctx.knex.destroy()
}

const summary = summarize(ctx.facts, (performance.now() - started) / 1000, failure)
say('')
for (const line of summaryLines(summary)) say(line)
if (values.json) say(JSON.stringify(summary))
process.exit(summary.ok ? 0 : 1)

function fail(message: string): never {
  process.stderr.write(`demo: ${message}\n`)
  process.exit(2)
}
