import type { Command } from 'commander'
import type { Knex } from 'knex'
import { pino } from 'pino'
import { Runner } from '../../lib/core/runner.ts'
import type { RunOptions } from '../../lib/core/context.ts'
import type { RunProgress } from '../../lib/core/progress.ts'
import { reportedAppLatency } from '../../lib/core/throttle.ts'
import { usage } from '../../lib/errors.ts'
import { serveMetrics } from '../../lib/http/metrics-server.ts'
import { logEvents } from '../../lib/observe/log-events.ts'
import { collectMetrics } from '../../lib/observe/metrics.ts'
import { type GlobalOptions, type Session, withSession } from '../context.ts'
import { EXIT } from '../fail.ts'
import { progressLine } from '../format.ts'
import { positiveInt } from '../parse.ts'
import { printProgress } from '../progress-printer.ts'

interface RunFlags {
  workers?: number
  batchSize?: number
  targetBatchMs?: number
  maxRowsPerSecond?: number
  maxReplicationLagMs?: number
  maxAppLatencyMs?: number
  metricsPort?: number
  logFormat: 'pretty' | 'json'
}

function withRunFlags(cmd: Command): Command {
  return cmd
    .option('--workers <n>', 'workers in this process', positiveInt('--workers'))
    .option('--batch-size <n>', 'fixed rows per batch (turns off the adaptive size)', positiveInt('--batch-size'))
    .option('--target-batch-ms <ms>', 'batch duration the adaptive size aims for (default 50)', positiveInt('--target-batch-ms'))
    .option(
      '--max-rows-per-second <n>',
      'throttle: at most this many rows per second, all workers together',
      positiveInt('--max-rows-per-second'),
    )
    .option('--max-replication-lag-ms <ms>', 'throttle while a replica lags more (PostgreSQL)', positiveInt('--max-replication-lag-ms'))
    .option('--max-app-latency-ms <ms>', "throttle while the app's latency is higher", positiveInt('--max-app-latency-ms'))
    .option('--metrics-port <port>', 'serve Prometheus metrics at http://0.0.0.0:<port>/metrics', positiveInt('--metrics-port'))
    .option('--log-format <format>', 'pretty (progress lines) or json (one structured entry per event)', logFormat, 'pretty')
}

export function registerRun(program: Command): void {
  withRunFlags(program.command('run'))
    .description('evolve the named migrations (default: all, in file-name order); resumes interrupted runs')
    .argument('[names...]', 'migration names (file names without extension)')
    .action(async (names: string[], _flags: RunFlags, cmd: Command) => {
      const opts = cmd.optsWithGlobals<GlobalOptions & RunFlags>()
      process.exitCode = await withSession(
        opts,
        async (s) => {
          const migrations = await s.loadMigrations(names)
          if (migrations.length === 0) {
            console.log(`no migrations in ${s.config.migrationsDir}: create one with \`evolve create <name>\``)
            return EXIT.ok
          }
          const runner = newRunner(s, opts, migrations)
          await noteUnwatchedLatency(s, opts)
          return drive(runner, s.knex, opts, migrations.length, () => runner.run())
        },
        poolFor(opts),
      )
    })

  withRunFlags(program.command('retry'))
    .description("re-drive only a run's failed objects")
    .argument('<name>', 'migration name')
    .action(async (name: string, _flags: RunFlags, cmd: Command) => {
      const opts = cmd.optsWithGlobals<GlobalOptions & RunFlags>()
      process.exitCode = await withSession(
        opts,
        async (s) => {
          const runner = newRunner(s, opts, await s.loadMigrations([name]))
          return drive(runner, s.knex, opts, 1, async () => [await runner.retry(name)])
        },
        poolFor(opts),
      )
    })
}

/** Each worker holds a connection during a batch; heartbeats, claims and the presence session need a few more. */
function poolFor(opts: RunFlags) {
  return { max: (opts.workers ?? 1) + 4 }
}

function newRunner(s: Session, opts: RunFlags, migrations: Awaited<ReturnType<Session['loadMigrations']>>): Runner {
  return new Runner({ knex: s.knex, migrations, workers: opts.workers, ...runOptionsOf(s, opts) })
}

/** The config file's run options, overridden by the flags given. */
function runOptionsOf(s: Session, opts: RunFlags): Partial<RunOptions> {
  const flags: Partial<RunOptions> = {
    batchSize: opts.batchSize,
    targetBatchMs: opts.targetBatchMs,
    maxRowsPerSecond: opts.maxRowsPerSecond,
    maxReplicationLagMs: opts.maxReplicationLagMs,
    maxAppLatencyMs: opts.maxAppLatencyMs,
  }
  const defined = Object.fromEntries(Object.entries(flags).filter(([, v]) => v !== undefined))
  return { ...s.config.run, ...defined }
}

/** An app latency limit with nothing to measure against holds nothing back: say so. */
async function noteUnwatchedLatency(s: Session, opts: RunFlags): Promise<void> {
  const o = runOptionsOf(s, opts)
  if (o.maxAppLatencyMs === undefined || o.latencyProbe || (await reportedAppLatency(s.knex, s.dialect)) !== null) return
  process.stderr.write(
    'evolve: note: the app latency limit holds back only on a latency the app reports with reportAppLatency() (none in the last 10 s) or times with latencyProbe in evolve.config.ts\n',
  )
}

/** Runs to the end while reporting; returns the exit code. `expected`: how many runs `work` serves. */
async function drive(runner: Runner, knex: Knex, opts: RunFlags, expected: number, work: () => Promise<RunProgress[]>): Promise<number> {
  const stopOnSignal = () => {
    process.stderr.write('evolve: stopping after the current batch (press Ctrl-C again to abort)\n')
    runner.stop()
    process.once('SIGINT', () => process.exit(130))
  }
  process.once('SIGINT', stopOnSignal)
  process.once('SIGTERM', () => runner.stop())
  const json = opts.logFormat === 'json'
  const log = json ? pino({ base: undefined }) : undefined
  if (log) logEvents(runner.events, log)
  else printProgress(runner.events, knex)
  const server = opts.metricsPort ? await listen(runner, opts.metricsPort) : undefined
  try {
    const results = await work()
    // Stopped between two migrations, every run returned may be done while later ones never began.
    const stopped = results.some((r) => r.state === 'running') || (runner.stopped && results.length < expected)
    const ok = !stopped && results.every((r) => r.state === 'done')
    if (log) log.info({ event: 'summary', ok, stopped, runs: results }, ok ? 'done' : stopped ? 'stopped' : 'not done')
    else {
      for (const r of results) console.log(progressLine(r))
      if (stopped) console.log('stopped: `evolve run` resumes where this left off')
    }
    return ok ? EXIT.ok : EXIT.runFailed
  } finally {
    server?.close()
    runner.events.removeAllListeners()
    process.off('SIGINT', stopOnSignal)
  }
}

async function listen(runner: Runner, port: number) {
  try {
    return await serveMetrics(collectMetrics(runner.events), port)
  } catch (err) {
    throw usage('E_METRICS_PORT', `cannot serve metrics on port ${port}: ${(err as Error).message}; pick another --metrics-port`)
  }
}

function logFormat(value: string): 'pretty' | 'json' {
  if (value !== 'pretty' && value !== 'json') throw usage('E_BAD_FLAG', `--log-format takes pretty or json, got "${value}"`)
  return value
}
