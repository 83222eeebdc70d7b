// `npm run bench`: evolvekit against raw SQL baselines, on PostgreSQL (and SQLite where it applies).
// Scenarios run one after the other on one machine; see docs/benchmarks.md for the latest results.
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { SCENARIOS, USAGE, parseOptions } from './args.ts'
import { postgresDatabase, sqliteDatabase } from './databases.ts'
import { provisionPostgres } from './embedded-postgres.ts'
import { machineInfo } from './machine.ts'
import { log } from './progress.ts'
import { renderReport, writeResults } from './report.ts'
import type { BenchResults } from './results.ts'
import { coldStart } from './scenarios/cold-start.ts'
import { adminApi } from './scenarios/admin-api.ts'
import { liveImpact } from './scenarios/live-impact.ts'
import { memory } from './scenarios/memory.ts'
import { scaleOut } from './scenarios/scale-out.ts'
import { snapshot } from './scenarios/snapshot.ts'
import { throughput } from './scenarios/throughput.ts'
import { wideRows } from './scenarios/wide-rows.ts'
import { checkTargets } from './targets.ts'

// Only a full run writes results.json, the run docs/benchmarks.md describes: a --quick smoke run
// (CI runs one) or an --only run of some scenarios goes to the git-ignored results-partial.json.
const resultsPath = (full: boolean) =>
  path.join(path.dirname(fileURLToPath(import.meta.url)), full ? 'results.json' : 'results-partial.json')

async function main(): Promise<void> {
  const started = performance.now()
  let options
  try {
    options = parseOptions(process.argv.slice(2))
  } catch (error) {
    console.error(`bench: ${(error as Error).message}\n${USAGE}`)
    process.exitCode = 2
    return
  }
  const on = (name: (typeof options.scenarios)[number]) => options.scenarios.includes(name)
  const server = await provisionPostgres()
  const stop = (signal: NodeJS.Signals) => {
    log(`bench: ${signal}, stopping PostgreSQL`)
    void server.close().finally(() => process.exit(130))
  }
  process.once('SIGINT', stop).once('SIGTERM', stop)
  log(`bench: PostgreSQL ${server.version} from ${server.source}`)
  const [load] = os.loadavg()
  if (load! > os.cpus().length / 2) {
    log(`bench: warning: load average ${load!.toFixed(1)} on ${os.cpus().length} cpus: something else is running, figures will be noisy`)
  }
  try {
    const machine = machineInfo({ version: server.version, source: server.source, settings: server.settings })
    const pg = postgresDatabase(server.url)
    const partial: Omit<BenchResults, 'targets'> = {
      machine,
      options,
      durationSeconds: 0,
      throughput: [],
      liveImpact: null,
      memory: null,
      wideRows: [],
      scaleOut: null,
      snapshot: null,
      coldStart: null,
      adminApi: null,
      failures: [],
    }
    // A scenario that throws is reported and the others still run: one failure costs no other figure.
    const attempt = async <T>(name: string, fn: () => Promise<T>): Promise<T | null> => {
      try {
        return await fn()
      } catch (error) {
        log(`bench: ${name} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`)
        partial.failures.push({ scenario: name, error: error instanceof Error ? error.message : String(error) })
        return null
      }
    }
    // First, while the machine is quiet: the CLI's start-up time, process by process.
    if (on('coldstart')) partial.coldStart = await attempt('coldstart', () => coldStart(options.coldStartRuns))
    if (on('throughput')) {
      const t = await attempt('throughput/postgres', () => throughput(pg, options.rows))
      if (t) partial.throughput.push(t)
      if (options.sqlite) {
        const lite = await sqliteDatabase()
        const l = await attempt('throughput/sqlite', () => throughput(lite, options.rows)).finally(() => lite.remove())
        if (l) partial.throughput.push(l)
      }
    }
    if (on('live')) {
      partial.liveImpact = await attempt('live', () => liveImpact(pg, options.rows, options.baselineSeconds))
      if (options.sqlite) {
        const lite = await sqliteDatabase()
        partial.liveImpactSqlite = await attempt('live/sqlite', () => liveImpact(lite, options.rows, options.baselineSeconds)).finally(() =>
          lite.remove(),
        )
      }
    }
    if (on('memory')) partial.memory = await attempt('memory', () => memory(pg, options.memoryRows))
    if (on('wide')) {
      const w = await attempt('wide/postgres', () => wideRows(pg, options.wideRows))
      if (w) partial.wideRows.push(w)
      if (options.sqlite) {
        const lite = await sqliteDatabase()
        const l = await attempt('wide/sqlite', () => wideRows(lite, options.wideRows)).finally(() => lite.remove())
        if (l) partial.wideRows.push(l)
      }
    }
    if (on('scale')) partial.scaleOut = await attempt('scale', () => scaleOut(pg, options.rows))
    if (on('snapshot')) {
      partial.snapshot = []
      const p = await attempt('snapshot/postgres', () => snapshot(pg, options.rows))
      if (p) partial.snapshot.push(p)
      if (options.sqlite) {
        const lite = await sqliteDatabase()
        const l = await attempt('snapshot/sqlite', () => snapshot(lite, options.rows)).finally(() => lite.remove())
        if (l) partial.snapshot.push(l)
      }
    }
    if (on('api')) partial.adminApi = await attempt('api', () => adminApi(pg, options.quick ? 20_000 : 100_000, options.quick ? 3 : 10))
    partial.durationSeconds = (performance.now() - started) / 1000
    const results: BenchResults = { ...partial, targets: checkTargets(partial) }
    console.log(renderReport(results))
    const resultsFile = resultsPath(!options.quick && options.scenarios.length === SCENARIOS.length)
    await writeResults(results, resultsFile)
    if (results.failures.length > 0) process.exitCode = 1
    log(`bench: done in ${(results.durationSeconds / 60).toFixed(1)} min; results in ${path.relative(process.cwd(), resultsFile)}`)
  } finally {
    await server.close()
  }
}

main().catch((error: unknown) => {
  console.error('bench:', error)
  process.exitCode = 1
})
