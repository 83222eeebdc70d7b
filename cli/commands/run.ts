import type { Command } from 'commander'
import type { Evolve, RunNote, StartOptions } from '../../lib/api/evolve.ts'
import type { RunHandle } from '../../lib/api/run-handle.ts'
import { usage } from '../../lib/errors.ts'
import { type GlobalOptions, noMigrations, withEvolve } from '../context.ts'
import { EXIT, abortNow } from '../fail.ts'
import { progressLine } from '../format.ts'
import { portNumber, positiveInt } from '../parse.ts'
import { printProgress } from '../progress-printer.ts'
import { printJsonEvents, writeJson } from '../json-events.ts'

interface RunFlags {
  workers?: number
  batchSize?: number
  targetBatchMs?: number
  maxRowsPerSecond?: number
  maxReplicationLagMs?: number
  maxAppLatencyMs?: number
  metricsPort?: number
  logFormat: 'pretty' | 'json'
  mode?: 'online' | 'snapshot'
  json?: boolean
  allowRerun?: boolean
}

function withRunFlags(cmd: Command): Command {
  return cmd
    .option('--workers <n>', 'workers in this process', positiveInt('--workers'))
    .option('--batch-size <n>', 'fixed rows per batch (turns off the adaptive size)', positiveInt('--batch-size'))
    .option('--target-batch-ms <ms>', 'batch duration the adaptive size aims for (default 50; SQLite 25)', positiveInt('--target-batch-ms'))
    .option(
      '--max-rows-per-second <n>',
      'throttle: at most this many rows per second, all workers together',
      positiveInt('--max-rows-per-second'),
    )
    .option('--max-replication-lag-ms <ms>', 'throttle while a replica lags more (PostgreSQL)', positiveInt('--max-replication-lag-ms'))
    .option('--max-app-latency-ms <ms>', "throttle while the app's latency is higher", positiveInt('--max-app-latency-ms'))
    .option(
      '--metrics-port <port>',
      'serve Prometheus metrics at http://0.0.0.0:<port>/metrics (0: any free port, printed on stderr)',
      portNumber('--metrics-port'),
    )
    .option('--log-format <format>', 'pretty (progress lines) or json (one structured entry per event)', logFormat, 'pretty')
    .option('--json', 'one JSON object per line on stdout: every event, a progress tick (at most 1/s per run), a final summary')
}

export function registerRun(program: Command): void {
  withRunFlags(program.command('run'))
    .option(
      '--mode <mode>',
      'snapshot: copy the table, evolve the copy while the table is read-only, swap it in; online: in place (default: as each file says)',
      runMode,
    )
    .option(
      '--allow-rerun',
      "run a migration that looks like a started run's renamed (same table and code) though it evolves those rows again",
    )
    .description('evolve the named migrations (default: all, in file-name order); resumes interrupted runs')
    .argument('[names...]', 'migration names (file names without extension)')
    .action(async (names: string[], _flags: RunFlags, cmd: Command) => {
      const opts = cmd.optsWithGlobals<GlobalOptions & RunFlags>()
      process.exitCode = await withEvolve(
        opts,
        async (evolve) => {
          // Refusals first (a file changed under its run, a rename, a name with only a run): nothing started yet.
          const notes = await evolve.runNotes(names, { allowRerun: opts.allowRerun })
          const chosen = (await evolve.migrations(names)).map((m) => m.name)
          if (chosen.length === 0) {
            sayNotes(notes)
            if (opts.json) writeJson({ event: 'summary', ok: true, stopped: false, runs: [] })
            else console.log(noMigrations(evolve))
            return EXIT.ok
          }
          await noteUnwatchedLatency(evolve, opts)
          return drive(evolve, opts, chosen, () => evolve.run(names, { ...startOptions(opts), allowRerun: opts.allowRerun }), notes)
        },
        poolFor(opts),
      )
    })

  withRunFlags(program.command('retry'))
    .description("re-drive only a run's failed objects")
    .argument('<name>', 'migration name')
    .action(async (name: string, _flags: RunFlags, cmd: Command) => {
      const opts = cmd.optsWithGlobals<GlobalOptions & RunFlags>()
      process.exitCode = await withEvolve(
        opts,
        async (evolve) =>
          drive(evolve, opts, [name], () => evolve.retry(name, startOptions(opts)), await evolve.runNotes([name], { retry: true })),
        poolFor(opts),
      )
    })
}

/** Each worker holds a connection during a batch; heartbeats, claims and the presence session need a few more. */
function poolFor(opts: RunFlags) {
  return { max: (opts.workers ?? 1) + 4 }
}

/** The flags given; the config file's run options fill in the rest (in the admin layer). */
function startOptions(opts: RunFlags): StartOptions {
  return {
    workers: opts.workers,
    batchSize: opts.batchSize,
    targetBatchMs: opts.targetBatchMs,
    maxRowsPerSecond: opts.maxRowsPerSecond,
    maxReplicationLagMs: opts.maxReplicationLagMs,
    maxAppLatencyMs: opts.maxAppLatencyMs,
    mode: opts.mode,
  }
}

/** What runNotes found, before the run starts: a warning of the JSON log, else on stderr (`evolve: note: …`, --json too). */
function sayNotes(notes: RunNote[], log?: { warn: (o: object, msg: string) => void }): void {
  for (const n of notes) {
    if (log) log.warn({ event: 'note', run: n.name, note: n.kind }, n.message)
    else process.stderr.write(`evolve: note: ${n.message}\n`)
  }
}

/** An app latency limit with nothing to measure against holds nothing back: say so. */
async function noteUnwatchedLatency(evolve: Evolve, opts: RunFlags): Promise<void> {
  if (!(await evolve.latencyUnwatched(startOptions(opts)))) return
  process.stderr.write(
    'evolve: note: the app latency limit holds back only on a latency the app reports with reportAppLatency() (none in the last 10 s) or times with latencyProbe in evolve.config.ts\n',
  )
}

/** Runs to the end while reporting; returns the exit code. `names`: the runs the work serves. */
async function drive(evolve: Evolve, opts: RunFlags, names: string[], start: () => Promise<RunHandle>, notes: RunNote[]): Promise<number> {
  const expected = names.length
  // pino, prom-client and ink load only for the run that uses them: `--help` and the other
  // commands start without them.
  const log = opts.logFormat === 'json' && !opts.json ? (await import('pino')).pino({ base: undefined }) : undefined
  sayNotes(notes, log)
  // Live ink lines on a terminal; the plain lines off one (CI, pipes), as before.
  // ink and React load only here: every other command starts without them.
  const live =
    !opts.json && !log && process.stdout.isTTY ? (await import('../ui/run-progress.tsx')).showLiveProgress(evolve, names) : undefined
  if (opts.json) printJsonEvents(evolve)
  else if (log) (await import('../../lib/observe/log-events.ts')).logEvents(evolve.events, log)
  else if (!live) printProgress(evolve)
  const server = opts.metricsPort === undefined ? undefined : await listen(evolve, opts.metricsPort)
  let handle: RunHandle | undefined
  // One listener for both Ctrl-Cs: swapping a once() for another leaves a moment with none, when
  // a second Ctrl-C sent as soon as the line below shows would kill the process without its last line.
  let stopping = false
  const stopOnSignal = () => {
    if (stopping) abortNow()
    stopping = true
    process.stderr.write('evolve: stopping after the current batch (press Ctrl-C again to abort)\n')
    handle?.stop()
  }
  const stopOnTerm = () => handle?.stop()
  process.on('SIGINT', stopOnSignal)
  process.once('SIGTERM', stopOnTerm)
  try {
    handle = await start()
    const results = await handle.done
    // Stopped between two migrations, every run returned may be done while later ones never began.
    const stopped = results.some((r) => r.state === 'running') || (handle.stopped && results.length < expected)
    const ok = !stopped && results.every((r) => r.state === 'done')
    await live?.stop()
    if (opts.json) writeJson({ event: 'summary', ok, stopped, runs: results })
    else if (log) log.info({ event: 'summary', ok, stopped, runs: results }, ok ? 'done' : stopped ? 'stopped' : 'not done')
    else {
      for (const r of results) console.log(progressLine(r))
      if (stopped) console.log('stopped: `evolve run` resumes where this left off')
    }
    return ok ? EXIT.ok : EXIT.runFailed
  } finally {
    await live?.stop()
    server?.close()
    evolve.events.removeAllListeners()
    process.off('SIGINT', stopOnSignal)
    process.off('SIGTERM', stopOnTerm)
  }
}

async function listen(evolve: Evolve, port: number) {
  try {
    const [{ serveMetrics }, { collectMetrics }] = await Promise.all([
      import('../../lib/http/metrics-server.ts'),
      import('../../lib/observe/metrics.ts'),
    ])
    const server = await serveMetrics(collectMetrics(evolve.events), port)
    const address = server.address()
    // Any free port: say which, or the metrics cannot be found.
    if (port === 0 && address && typeof address === 'object')
      process.stderr.write(`evolve: metrics at http://0.0.0.0:${address.port}/metrics\n`)
    return server
  } catch (err) {
    throw usage('E_METRICS_PORT', `cannot serve metrics on port ${port}: ${(err as Error).message}; pick another --metrics-port`)
  }
}

export function runMode(value: string): 'online' | 'snapshot' {
  if (value !== 'online' && value !== 'snapshot') throw usage('E_BAD_FLAG', `--mode takes online or snapshot, got "${value}"`)
  return value
}

function logFormat(value: string): 'pretty' | 'json' {
  if (value !== 'pretty' && value !== 'json') throw usage('E_BAD_FLAG', `--log-format takes pretty or json, got "${value}"`)
  return value
}
